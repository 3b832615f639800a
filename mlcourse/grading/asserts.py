"""Checks that exercise test cells call. Each raises AssertionError with a message that says
what was expected, what came back, and where they differ, so a student can act on it."""
import ast
import inspect
import textwrap

import numpy as np

from ..gradcheck import eval_numerical_gradient, eval_numerical_gradient_array, gradient_from_probes, rel_error
from .language import say


class IntegrityError(AssertionError):
    """The graded function is not the student's own work."""


def _fmt(value):
    return np.array2string(np.asarray(value), precision=6, threshold=20, edgeitems=3)


def _plain(value):
    """A NumPy scalar as the Python value it holds, so messages read 'W1', not np.str_('W1')."""
    return value.item() if isinstance(value, np.generic) else value


def assert_shape(name, actual, expected_shape):
    """``actual`` must be an array of ``expected_shape``."""
    if not hasattr(actual, "shape"):
        raise AssertionError(say("{name}: expected an array of shape {shape}, got {kind} {value!r}", name=name,
                                 shape=tuple(expected_shape), kind=type(actual).__name__, value=actual))
    if tuple(actual.shape) != tuple(expected_shape):
        raise AssertionError(say("{name}: expected shape {expected}, got shape {actual}", name=name,
                                 expected=tuple(expected_shape), actual=tuple(actual.shape)))


def assert_returns(name, result, *parts):
    """``result``, what ``name`` returned, must be a tuple of the values named in ``parts``, e.g.
    ``out, cache = assert_returns("conv_forward_naive", conv_forward_naive(x, w, b, p), "out", "cache")``."""
    wanted = f"({', '.join(parts)})"
    if result is None:
        raise AssertionError(say("{name} must return {wanted}, got None. Did you forget a return statement?",
                                 name=name, wanted=wanted))
    if not isinstance(result, (tuple, list)):
        got = say("one array") if hasattr(result, "shape") else say("one {kind}", kind=type(result).__name__)
        raise AssertionError(say("{name} must return {wanted}, got {got}. Return them together: return {parts}",
                                 name=name, wanted=wanted, got=got, parts=", ".join(parts)))
    if len(result) != len(parts):
        raise AssertionError(say("{name} must return {wanted}, {count} values, got {got}", name=name, wanted=wanted,
                                 count=len(parts), got=len(result)))
    return tuple(result)


def assert_close(name, actual, expected, tol=1e-7):
    """``actual`` must match ``expected`` in shape and to relative error ``tol``."""
    if actual is None:
        raise AssertionError(say("{name}: got None. Did you forget a return statement?", name=name))
    expected = np.asarray(expected, dtype=np.float64)
    if np.ndim(expected) == 0:
        try:
            actual = float(actual)
        except (TypeError, ValueError):
            raise AssertionError(say("{name}: expected a number close to {expected:.8g}, got {kind} {value!r}",
                                     name=name, expected=float(expected), kind=type(actual).__name__,
                                     value=actual)) from None
    else:
        assert_shape(name, actual, expected.shape)
    actual = np.asarray(actual, dtype=np.float64)
    if not np.all(np.isfinite(actual)):
        raise AssertionError(say("{name}: contains nan or inf: {values}", name=name, values=_fmt(actual)))
    err = rel_error(actual, expected)
    if err <= tol:
        return
    if expected.ndim == 0:
        raise AssertionError(say("{name}: expected {expected:.8g}, got {actual:.8g} (relative error {err:.2e}, "
                                 "allowed {tol:.0e})", name=name, expected=float(expected), actual=float(actual),
                                 err=err, tol=tol))
    rel = np.abs(actual - expected) / np.maximum(1e-8, np.abs(actual) + np.abs(expected))
    wrong = np.argwhere(rel > tol)
    where = np.unravel_index(np.argmax(rel), rel.shape)
    lines = [say("{name}: {wrong} of {size} entries differ (relative error up to {err:.2e}, allowed {tol:.0e}).",
                 name=name, wrong=len(wrong), size=rel.size, err=err, tol=tol),
             say("  worst at index {index}: expected {expected:.8g}, got {actual:.8g}",
                 index=tuple(int(i) for i in where), expected=expected[where], actual=actual[where])]
    if expected.size <= SHOWN_WHOLE:
        lines += [say("  expected:"), textwrap.indent(_fmt(expected), "    "), say("  got:"),
                  textwrap.indent(_fmt(actual), "    ")]
    else:
        lines += [say("  at {index}: expected {expected:.8g}, got {actual:.8g}", index=tuple(int(i) for i in at),
                      expected=expected[tuple(at)], actual=actual[tuple(at)]) for at in wrong[:SHOWN_ENTRIES]]
        if len(wrong) > SHOWN_ENTRIES:
            lines.append(say("  ... and {more} more", more=len(wrong) - SHOWN_ENTRIES))
    raise AssertionError("\n".join(lines))


SHOWN_WHOLE = 24  # arrays up to this size are printed whole in a failure; larger ones by their differing entries
SHOWN_ENTRIES = 5


def assert_equal(name, actual, expected):
    """Exact equality, for labels, counts and shapes."""
    if np.ndim(expected) == 0:
        if actual != expected:
            raise AssertionError(say("{name}: expected {expected!r}, got {actual!r}", name=name,
                                     expected=_plain(expected), actual=_plain(actual)))
        return
    assert_shape(name, np.asarray(actual), np.shape(expected))
    actual, expected = np.asarray(actual), np.asarray(expected)
    bad = np.argwhere(actual != expected)
    if len(bad):
        where = tuple(int(i) for i in bad[0])
        raise AssertionError(say("{name}: {bad} of {size} entries differ; first at index {index}: expected "
                                 "{expected!r}, got {actual!r}", name=name, bad=len(bad), size=expected.size,
                                 index=where, expected=_plain(expected[where]), actual=_plain(actual[where])))


def check_answer_form(name, value, form):
    """The form of a conceptual answer, never its value: a visible right or wrong would let a student
    try every choice. ``form`` is "integer", "number" or a tuple of the allowed choices."""
    value = _plain(value)
    if isinstance(form, (tuple, list)):
        if isinstance(value, bool) or value not in form:
            raise AssertionError(say("{name}: answer one of {choices}, got {value!r}", name=name,
                                     choices=", ".join(repr(c) for c in form), value=value))
    elif form in ("integer", "number"):
        kinds = (int,) if form == "integer" else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not np.isfinite(value):
            wanted = say("a whole number (an int)") if form == "integer" else say("a finite number")
            raise AssertionError(say("{name}: answer {wanted}, got {kind} {value!r}", name=name, wanted=wanted,
                                     kind=type(value).__name__, value=value))
    else:
        raise ValueError(f"form must be 'integer', 'number' or a tuple of choices, got {form!r}")


def assert_answer(name, actual, expected, rel_tol=0.0):
    """A conceptual answer must be ``expected`` (a choice, or a number to relative error
    ``rel_tol``); only a plain str, int or float counts (a subclass could redefine ``==``), and
    the message does not give the right answer away."""
    actual = _plain(actual)
    if isinstance(expected, str):
        right = type(actual) is str and str.__eq__(actual, expected)
    else:
        right = type(actual) in (int, float) and abs(float(actual) - expected) <= rel_tol * abs(expected)
    if not right:
        raise AssertionError(say("{name}: {value!r} is not the right answer", name=name, value=actual))


def _numerical_gradient(f, x, h, dout=None):
    """``gradcheck``'s central differences; when judged, with every probe of ``f`` sent to the
    student's kernel in one request where ``f`` allows (same probes, same arithmetic)."""
    from . import JUDGE

    judge = JUDGE.get()
    probes = judge.probe_all(f, x, h) if judge is not None else None
    if probes is None:
        return eval_numerical_gradient(f, x, h=h) if dout is None else eval_numerical_gradient_array(f, x, dout, h=h)
    return gradient_from_probes(x, probes, h, dout)


def check_gradient(name, f, x, analytic, tol=1e-7, h=1e-5):
    """``analytic`` must match the central-difference gradient of scalar ``f`` at ``x``."""
    numeric = _numerical_gradient(f, x, h)
    assert_close(say("{name} (analytic vs numerical gradient)", name=name), analytic, numeric, tol)


def check_gradient_array(name, f, x, dout, analytic, tol=1e-7, h=1e-5):
    """``analytic`` must match the numerical gradient of sum(f(x) * dout) at ``x``."""
    numeric = _numerical_gradient(f, x, h, dout)
    assert_close(say("{name} (analytic vs numerical gradient)", name=name), analytic, numeric, tol)


def _judged(func):
    """What the judge read of a graded name from the submitted notebook (``judge.Submitted``), when
    ``func`` stands for the student's function in the judge's process; None in the notebook."""
    return func.__dict__.get("__judged__") if hasattr(func, "__dict__") else None


def _source(func):
    submitted = _judged(func)
    if submitted is not None:
        if submitted.problem:
            raise IntegrityError(submitted.problem)
        return submitted.source
    return textwrap.dedent(inspect.getsource(func))


def _called_names(func):
    """Names a function's source calls or reads, including attribute chains like ``mlcourse.x``."""
    try:
        source = _source(func)
    except (OSError, TypeError):
        return None
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(alias.name.split(".")[0] for alias in node.names)
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module.split(".")[0])
    return names


def _globals_from_mlcourse(func):
    """Global names the function reads that are bound to objects from the mlcourse package."""
    code = getattr(func, "__code__", None)
    if code is None:
        return set()
    found = set()
    for name in code.co_names:
        value = func.__globals__.get(name)
        module = getattr(value, "__module__", None) or getattr(value, "__name__", "")
        if name == "mlcourse" or (isinstance(module, str) and module.startswith("mlcourse")):
            found.add(name)
    return found


def assert_own_implementation(name, func, *references):
    """The graded ``func`` must be the student's code, not a reference imported or wrapped.

    Fails if ``func`` is one of ``references``, is defined inside mlcourse, or reads anything
    from the mlcourse package (beyond data helpers listed in ALLOWED_HELPERS). For a class,
    no base class may come from mlcourse and every method it defines is checked the same way.
    """
    if _judged(func) is not None:
        if "mlcourse" in (_called_names(func) or set()):
            raise IntegrityError(say("{name} uses the mlcourse package. Graded functions must be your own code; "
                                     "this cell scores 0 otherwise.", name=name))
        return
    if isinstance(func, type):
        for base in func.__mro__:
            if base.__module__.startswith("mlcourse"):
                raise IntegrityError(say("{name} is built on {base} from the mlcourse package. Write the class "
                                         "yourself; this cell scores 0 otherwise.", name=name,
                                         base=f"{base.__module__}.{base.__name__}"))
        for attr, member in vars(func).items():
            if inspect.isfunction(member):
                assert_own_implementation(f"{name}.{attr}", member, *references)
        return
    target = getattr(func, "__func__", func)
    for ref in references:
        if target is getattr(ref, "__func__", ref):
            raise IntegrityError(say("{name} is the mlcourse reference itself, not your own implementation. "
                                     "Write the function body yourself; this cell scores 0 otherwise.", name=name))
    module = getattr(target, "__module__", "") or ""
    if module.startswith("mlcourse"):
        raise IntegrityError(say("{name} comes from the module {module}, not from your notebook. Write the "
                                 "function body yourself; this cell scores 0 otherwise.", name=name, module=module))
    used = _globals_from_mlcourse(target) - ALLOWED_HELPERS
    names = _called_names(target) or set()
    if "mlcourse" in names:
        used.add("mlcourse")
    if used:
        what = say("imports the mlcourse package") if used == {"mlcourse"} else \
            say("uses {names} from the mlcourse package", names=", ".join(sorted(used - {"mlcourse"})))
        raise IntegrityError(say("{name} {what}. Graded functions must be your own code; this cell scores 0 "
                                 "otherwise.", name=name, what=what))


ALLOWED_HELPERS = {"rel_error"}


def assert_not_using(name, func, forbidden):
    """``func``'s source must not call or read any of the names in ``forbidden`` (``conv2d``,
    ``backward``...): what a source check can tell of the operations an exercise rules out."""
    called = _called_names(func)
    if called is None:
        raise IntegrityError(say("{name}: its source cannot be read, so the operations it uses cannot be checked. "
                                 "Define it with def in its answer cell; this cell scores 0 otherwise.", name=name))
    used = sorted(called & set(forbidden))
    if used:
        raise IntegrityError(say("{name} uses {names}, which this exercise does not allow. Write it with the "
                                 "allowed operations; this cell scores 0 otherwise.", name=name, names=", ".join(used)))


def assert_no_loops(name, func):
    """``func`` must contain no ``for``/``while`` loop or comprehension (the vectorized versions)."""
    source = _source(func)
    submitted = _judged(func)
    code = getattr(func, "__code__", None)
    first = submitted.first_line if submitted is not None else code.co_firstlineno if code is not None else 1
    loops = (ast.For, ast.While, ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, loops):
            raise AssertionError(say("{name} must not use Python loops, but line {line} of its cell has a {kind}. "
                                     "Use array operations instead.", name=name, line=first + node.lineno - 1,
                                     kind=type(node).__name__))
