"""The judge: a judged assignment's test cells run here, in the grader's process, never in the
student's kernel. The kernel runs the student's cells and, when a test cell calls a graded
function, is asked over ``wire`` to call it on the judge's inputs and send back data. The
assertions, the reference and the expected values stay here, so nothing the student's code does
in its kernel can change a score.

A test cell sees numpy as ``np``, the checks of ``mlcourse.grading``, the names that the
assignment's answer cells define (standing for the student's objects in the kernel), and what
earlier test cells defined; nothing else of the kernel's namespace. Functions it marks
``@in_kernel`` are copied into the kernel when it passes them to the student's code.
"""
import ast
import builtins
import contextlib
import inspect
import io
import linecache
import textwrap
import traceback
import types
import warnings
from dataclasses import dataclass

import nbformat
import numpy as np
from nbclient.exceptions import DeadKernelError
from nbgrader import utils

from . import JUDGE, asserts, wire
from .language import notebook_language, say, speaking

CHECKS = ("IntegrityError", "assert_answer", "assert_close", "assert_equal", "assert_no_loops", "assert_not_using",
          "assert_own_implementation", "assert_returns", "assert_shape", "check_answer_form", "check_gradient",
          "check_gradient_array")
# names with which a notebook can define or replace a graded name unseen by its source text
DYNAMIC = {"exec", "eval", "compile", "setattr", "delattr", "globals", "vars", "locals", "__import__"}
RESERVED = {"np", "in_kernel", "run_in_kernel", *CHECKS}  # what a test cell always sees as the judge's own
NAMESPACES = {"__dict__", "__globals__", "__code__", "__builtins__", "user_ns", "user_global_ns", "f_globals",
              "f_locals"}


def defined_names(source):
    """Names a cell's top level binds with ``def`` or ``class``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def graded_names(nb):
    """Names the answer cells of an instructor notebook ``nb`` define: what its tests may call."""
    names = []
    for cell in nb.cells:
        if cell.cell_type == "code" and utils.is_solution(cell):
            names += [n for n in defined_names(cell.source) if n not in names]
    return names


def given_names(nb):
    """Functions and classes the given code cells of an instructor notebook ``nb`` define (helpers
    the student does not write): a test may use them too, and they too stand for the kernel's."""
    names = []
    for cell in nb.cells:
        if cell.cell_type == "code" and not utils.is_solution(cell) and not utils.is_grade(cell):
            names += [n for n in defined_names(cell.source) if n not in names and n not in RESERVED]
    return names


@dataclass
class Submitted:
    """What the submitted source says of one graded name: its definition's text, the line of its
    cell that text starts on, or why that text cannot be trusted to be what runs (``problem``)."""
    source: str
    problem: str = ""
    first_line: int = 1


def read_submitted(nb, names):
    """{name: Submitted} from the code cells of a submitted notebook (test cells left out)."""
    bindings, dynamic, sources = {n: [] for n in names}, [], {}
    for cell in nb.cells:
        if cell.cell_type != "code" or (utils.is_grade(cell) and not utils.is_solution(cell)):
            continue
        text = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.split("\n"))
        cell_id = cell.metadata.get("nbgrader", {}).get("grade_id", "a cell of yours")
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            found = None
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found = node.name
                if node in tree.body and found in bindings:
                    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                    sources.setdefault(found, []).append((ast.get_source_segment(text, node), start))
            elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                found = node.id
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
                found = node.attr
            elif isinstance(node, ast.alias):
                found = node.asname or node.name.split(".")[0]
            elif isinstance(node, ast.Global):
                for name in node.names:
                    if name in bindings:
                        bindings[name].append(f"a global statement in {cell_id}")
            if isinstance(node, ast.Name) and node.id in DYNAMIC or \
                    isinstance(node, ast.Attribute) and node.attr in NAMESPACES:
                dynamic.append(f"{getattr(node, 'id', None) or node.attr} in {cell_id}")
            if found in bindings:
                bindings[found].append(cell_id)
    out = {}
    for name in names:
        defs = sources.get(name, [])
        problem = ""
        if dynamic:
            problem = say("{name} cannot be checked: the notebook builds or rebinds names at run time ({how}); "
                          "graded functions must be plain definitions", name=name, how=", ".join(dynamic[:3]))
        elif len(bindings[name]) != 1 or len(defs) != 1:
            where = ", ".join(bindings[name]) or say("no cell")
            problem = say("{name} must be defined exactly once, by its def or class in its answer cell; it is "
                          "bound in {where}", name=name, where=where)
        out[name] = Submitted(textwrap.dedent(defs[0][0]) if defs else "", problem, defs[0][1] if defs else 1)
    return out


class StudentError(Exception):
    """An exception the student's code raised in the kernel, of a type the judge does not know."""


def _exception(ename, evalue):
    kind = getattr(builtins, str(ename), None)
    if isinstance(kind, type) and issubclass(kind, Exception) and not issubclass(kind, Warning):
        try:
            return kind(evalue)
        except TypeError:
            pass
    return StudentError(f"{ename}: {evalue}")


def _module_imports(func):
    """Import lines for the modules ``func`` reads as globals (``torch``, ``nn``, ``F``), so that
    its copy in the kernel sees them as the test cell does."""
    lines = []
    for name in func.__code__.co_names:
        value = func.__globals__.get(name)
        if isinstance(value, types.ModuleType) and name != "np":
            module = value.__name__
            lines.append(f"import {module}" if module == name else f"import {module} as {name}")
    return "".join(line + "\n" for line in lines)


class Remote:
    """An object that lives in the student's kernel: calling it, or reading an attribute, asks
    the kernel to do it there and send the result back as data (or as another ``Remote``)."""

    def __init__(self, judge, ref, label, submitted=None):
        self.__dict__.update(_judge=judge, _ref=ref, _label=label)
        if submitted is not None:
            self.__dict__["__judged__"] = submitted

    def __call__(self, *args, **kwargs):
        if self._judge.deferred is not None:  # collecting the probes of a numerical gradient
            return Deferred(self._judge.deferred, [self, _copied(list(args)), _copied(kwargs), []])
        return self._judge.ask({"op": "call", "value": self, "args": [list(args), kwargs]}, writeback=args)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self._judge.ask({"op": "getattr", "value": self, "attr": attr})

    def __repr__(self):
        return f"<{self._label} in your kernel>"


def _merge(mine, theirs):
    """``theirs`` written into ``mine`` in place where their forms agree; the value to keep."""
    if isinstance(mine, np.ndarray) and isinstance(theirs, np.ndarray) and mine.shape == theirs.shape \
            and mine.flags.writeable:
        np.copyto(mine, theirs, casting="unsafe")
        return mine
    if type(mine) is dict and isinstance(theirs, dict):
        for key in [k for k in mine if k not in theirs]:
            del mine[key]
        for key, value in theirs.items():
            mine[key] = _merge(mine.get(key), value)
        return mine
    if type(mine) is list and isinstance(theirs, list):
        mine[:] = [_merge(a, b) for a, b in zip(mine, theirs)] + theirs[len(mine):]
        return mine
    return theirs


def _copied(value):
    """``value`` with its arrays and containers copied (what a later call may not change)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if type(value) in (list, tuple):
        return type(value)(_copied(v) for v in value)
    if type(value) is dict:
        return {k: _copied(v) for k, v in value.items()}
    return value


class Deferred:
    """A call of the student's code recorded, not yet made, and the indexing applied to its
    result; anything else done with it ends the recording (the probes then run one by one)."""

    def __init__(self, calls, call):
        self._calls, self._call = calls, call
        calls.append(call)

    def __getitem__(self, key):
        if not isinstance(key, (int, str)) or self._call is not self._calls[-1]:
            raise TypeError("only a plain index of the last call is recorded")
        self._call[3].append(key)
        return self


class Judge:
    """Runs the test cells of one submission. ``send(document, buffers) -> (document, buffers)``
    delivers one request to the student's kernel and returns its reply (raising nbclient's
    DeadKernelError when the kernel dies or is stopped); ``names`` are the graded names, ``given``
    the given code's functions and ``nb`` the submitted notebook."""

    def __init__(self, send, names, nb, given=()):
        self.send, self.names = send, list(names)
        self.language = notebook_language(nb)  # the checks speak the submission's language
        with speaking(self.language):
            self.submitted = read_submitted(nb, self.names)
        self.kernel_names = self.names + [n for n in given if n not in self.names]
        self.deferred = None  # the calls being recorded by probe_all
        self.defined = {}
        self.ns = {"__builtins__": builtins, "__name__": "__judge__", "np": np}
        self.ns.update({name: getattr(asserts, name) for name in CHECKS})
        from . import in_kernel, run_in_kernel
        self.ns.update(in_kernel=in_kernel, run_in_kernel=run_in_kernel)

    def probe_all(self, f, x, h):
        """[(f(x + h e_i), f(x - h e_i)) for each index i of x], with f's calls of the student's code
        sent in a few requests instead of two each; None when f does more than call the student's
        code and index the result (the caller then probes one by one)."""
        points = []
        for i in np.ndindex(x.shape):
            for step in (h, -h):
                point = x.copy()
                point[i] = x[i] + step
                points.append(point)
        self.deferred, results = [], []
        try:
            results = [f(point) for point in points]
        except (TypeError, AttributeError, IndexError, KeyError):
            return None
        finally:
            calls, self.deferred = self.deferred, None
        if len(calls) != len(points) or any(not isinstance(r, Deferred) or r._call is not c
                                            for r, c in zip(results, calls)):
            return None
        values, per_request = [], max(1, wire.MAX_BYTES // 4 // max(1, 2 * x.nbytes))
        for start in range(0, len(calls), per_request):
            batch = self.ask({"op": "calls", "args": calls[start:start + per_request]})
            if not isinstance(batch, list) or len(batch) != len(calls[start:start + per_request]):
                raise wire.ReplyError("the reply to a batch of calls does not hold one value per call")
            values += batch
        values = [np.copy(v) for v in values]
        return list(zip(values[0::2], values[1::2]))

    def run_in_kernel(self, func, *args, **kwargs):
        """``func`` (an ``@in_kernel`` function of a test cell, or a function of the given code)
        called in the kernel; its value as data or a handle."""
        if isinstance(func, Remote):
            return func(*args, **kwargs)
        if not getattr(func, "__mlcourse_in_kernel__", False):
            raise TypeError("run_in_kernel runs only functions marked @in_kernel and those of the given code")
        return Remote(self, self._ref(func), func.__name__)(*args, **kwargs)

    def _ref(self, obj):
        if isinstance(obj, Remote):
            return obj._ref
        if callable(obj) and getattr(obj, "__mlcourse_in_kernel__", False):
            if obj not in self.defined:
                source = textwrap.dedent(inspect.getsource(obj))
                source = "\n".join(line for line in source.split("\n") if not line.lstrip().startswith("@"))
                source = _module_imports(obj) + source
                made = self.ask({"op": "define", "name": obj.__name__, "source": source})
                self.defined[obj] = made._ref
            return self.defined[obj]
        raise TypeError(f"a test cell cannot hand a {type(obj).__name__} to the student's code "
                        "(only data, the student's own objects and @in_kernel functions)")

    def ask(self, request, writeback=()):
        """Send ``request`` to the kernel; the decoded value of its reply (raising the student's
        error, or ``wire.ReplyError`` for a malformed reply)."""
        arrays = []
        document = {k: wire.encode(v, arrays, self._ref) if k in ("value", "args") else v for k, v in request.items()}
        reply = wire.unpack(*self.send(*wire.pack(document, arrays)), self._resolve)
        for category, message in reply.get("warnings") or []:
            kind = getattr(builtins, str(category), None)
            warnings.warn(str(message), kind if isinstance(kind, type) and issubclass(kind, Warning) else UserWarning)
        if "error" in reply:
            ename, evalue = (list(reply["error"]) + ["", ""])[:2]
            raise _exception(ename, evalue)
        if "value" not in reply:
            raise wire.ReplyError("the reply holds no value")
        if writeback and "args" in reply:
            self._write_back(writeback, reply["args"])
        return reply["value"]

    @staticmethod
    def _write_back(sent, changed):
        """What the student's code changed in the arguments it got (an array's values, a dict's or
        list's items) changes here too, so that a test can notice."""
        if isinstance(changed, dict):
            for index, theirs in changed.items():
                if str(index).isdigit() and int(index) < len(sent):
                    _merge(sent[int(index)], theirs)

    def _resolve(self, tree):
        if tree["t"] != "handle":
            raise wire.ReplyError("the reply names an object it may not name")
        return Remote(self, {"t": "handle", "v": int(tree["v"])}, str(tree.get("type", "object"))[:60])

    def _bind(self, source):
        """Bind each graded or given name the cell uses to the kernel's object (or unbind it if missing)."""
        try:
            used = {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
        except SyntaxError:
            return
        for name in [n for n in self.kernel_names if n in used]:
            self.ns.pop(name, None)
            try:
                value = self.ask({"op": "get", "name": name})
            except (KeyError, NameError):
                continue
            if isinstance(value, Remote):
                value = Remote(self, value._ref, name, self.submitted.get(name))
            self.ns[name] = value

    def run_cell(self, cell, count):
        """Run the test cell ``cell`` here; its outputs as nbformat outputs (an error output where
        it failed, with the line as ``Cell In[count], line L``)."""
        source, name = cell.source, cell.metadata.get("nbgrader", {}).get("grade_id", "test")
        filename = f"<judged test cell {name}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        stdout, error = io.StringIO(), None
        try:
            code = compile(source, filename, "exec")
            self._bind(source)
            token = JUDGE.set(self)
            try:
                with contextlib.redirect_stdout(stdout), warnings.catch_warnings(), speaking(self.language):
                    warnings.simplefilter("ignore")
                    exec(code, self.ns)
            finally:
                JUDGE.reset(token)
        except DeadKernelError:
            raise
        except Exception as err:  # the cell failed: its outcome, recorded as nbgrader reads it
            error = err
        outputs = [nbformat.v4.new_output("stream", name="stdout", text=stdout.getvalue())] if stdout.getvalue() else []
        if error is not None:
            line = next((f.lineno for f in traceback.extract_tb(error.__traceback__) if f.filename == filename), None)
            where = [f"Cell In[{count}], line {line}"] if line else []
            outputs.append(nbformat.v4.new_output("error", ename=type(error).__name__, evalue=str(error),
                                                  traceback=where + [f"{type(error).__name__}: {error}"]))
        return outputs
