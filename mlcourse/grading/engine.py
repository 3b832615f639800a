"""Autograde one notebook with nbgrader's own preprocessors, the student code run in the sandbox.

The steps are nbgrader's ``autograde``: sanitize (``ClearOutput``, ``DeduplicateIds``,
``OverwriteKernelspec``, ``OverwriteCells``, ``CheckCellMetadata``, which restore every test
cell, hidden tests included, from the gradebook), execute, then ``IgnorePattern``,
``ClearMetadataPreprocessor``, ``LimitOutput``; points come from nbgrader's ``determine_grade``.
What is added: the kernel runs in the sandbox (``sandbox.py``), one wall-time limit covers the
whole notebook, a kernel that dies or is stopped costs only the cells it did not finish, and
every submission ends with a status and a reason instead of an exception.

``autograde(path, assignment)`` grades one notebook and records nothing; ``mlcourse grade``
(``batch.py``) grades a class into the gradebook.
"""
import contextlib
import copy
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from time import monotonic

import nbformat
import zmq
import zmq.asyncio
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters.autograde import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import AssignLatePenalties, ClearHiddenTests, Execute, SaveAutoGrades
from sqlalchemy.engine import make_url
from traitlets.config.loader import PyFileConfigLoader

from .sandbox import (NO_SANDBOX_WARNING, RUN_DIRS, RUN_PREFIX, Limits, SandboxKernelManager, UidLease, check_sandbox,
                      kill_forks, kill_user, user_processes)

GRADER_VERSION = "1"  # part of the content hash: bump it when a change must regrade everything
MB = 1024 * 1024
NOT_RUN = "NotRun"
STOPPED = "KernelStopped"

# statuses, most severe first; ``error`` (a fault of the grader, not of the notebook) is retried
STATUSES = ("missing", "invalid", "wrong-assignment", "error", "timeout", "cpu-limit", "memory-limit",
            "process-limit", "output-limit", "kernel-died", "modified", "graded")
RETRIED = {"error"}

SANITIZE = Autograde.class_traits()["sanitize_preprocessors"].default()
AFTER_EXECUTE = [p for p in Autograde.class_traits()["autograde_preprocessors"].default()
                 if p not in (Execute, SaveAutoGrades, AssignLatePenalties)]
RECORD = [SaveAutoGrades, AssignLatePenalties]
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Run silently in the kernel after a cell's MemoryError: the failed cell's traceback (kept by
# sys.last_*, IPython's traceback formatter and last result) keeps its locals alive, so the next
# cell would find no memory left. Clearing its frames frees them; what stays is what the notebook
# keeps on purpose (globals). Answers the data segment still in use, in KiB.
FREE_FAILED_CELL = """def _mlcourse_free_failed_cell():
    import gc, sys
    errors, seen = [getattr(sys, "last_value", None)], set()
    while errors:
        error = errors.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        tb = error.__traceback__
        while tb is not None:
            try:
                tb.tb_frame.clear()
                tb.tb_frame.f_locals
            except RuntimeError:
                pass
            tb = tb.tb_next
        errors += [error.__cause__, error.__context__]
    gc.collect()
    with open("/proc/self/status") as status:
        return next((int(line.split()[1]) for line in status if line.startswith("VmData:")), -1)
_mlcourse_data_kb = _mlcourse_free_failed_cell()
del _mlcourse_free_failed_cell"""


class CourseContext:
    """An nbgrader course folder: its config (``nbgrader_config.py``), directories and gradebook URL."""

    def __init__(self, root=".", db=None):
        self.root = Path(root).resolve()
        if not (self.root / "nbgrader_config.py").is_file():
            raise ValueError(f"expected an nbgrader course folder holding nbgrader_config.py, got {self.root}")
        self.db_arg = db
        self.config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        self.dirs = CourseDirectory(config=self.config, root=str(self.root))
        self.db_url = db or self.dirs.db_url

    def __reduce__(self):
        return (CourseContext, (str(self.root), self.db_arg))

    @property
    def grading_config(self):
        """The course config, with ``IgnorePattern`` on whenever it has a pattern (nbgrader wants
        ``IgnorePattern.enabled = True`` as well; a pattern alone is clearly meant to apply)."""
        cfg = copy.deepcopy(self.config)
        if cfg.IgnorePattern.get("pattern"):
            cfg.IgnorePattern.enabled = True
        return cfg

    def folder(self, step, student, assignment):
        return Path(self.dirs.format_path(step, student, assignment))

    def source_folder(self, assignment):
        return self.folder(self.dirs.source_directory, ".", assignment)


@contextlib.contextmanager
def gradebook_lock(db_url):
    """Serialise set-up steps of graders sharing a gradebook: ``flock`` on a SQLite file (SQLite's
    own locks are POSIX record locks, independent of it), an advisory lock on PostgreSQL;
    nothing for other databases."""
    from sqlalchemy import create_engine, text

    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        with open(url.database, "ab") as handle:  # an empty file is a new SQLite database
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
    elif url.get_backend_name() == "postgresql":
        engine = create_engine(db_url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(727007)"))
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(727007)"))
        finally:
            engine.dispose()
    else:
        yield


def _source_notebook(ctx, assignment):
    folder = ctx.source_folder(assignment)
    if not folder.is_dir():
        raise ValueError(f"no assignment {assignment!r} in this course: expected its source folder {folder}")
    found = sorted(folder.glob("*.ipynb"))
    if len(found) != 1:
        raise ValueError(f"expected one notebook in {folder} (one notebook per assignment), found {len(found)}")
    return found[0]


def _stale(ctx, assignment):
    """Why the gradebook's copy of ``assignment`` must be (re)built from the source, or ''."""
    path = _source_notebook(ctx, assignment)
    url = make_url(ctx.db_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return "no gradebook yet"
    tests = {c.metadata["nbgrader"]["grade_id"]: c for c in nbformat.read(path, as_version=4).cells
             if utils.is_grade(c) and not utils.is_solution(c)}
    with Gradebook(ctx.db_url, ctx.dirs.course_id) as gb:
        try:
            notebook = gb.find_notebook(path.stem, assignment)
        except MissingEntry:
            return "not in the gradebook yet"
        stored = {c.name: c for c in notebook.source_cells}
        points = {c.name: float(c.max_score) for c in notebook.grade_cells}
        for name, cell in tests.items():
            if name not in stored or stored[name].source != cell.source \
                    or points.get(name) != float(cell.metadata["nbgrader"]["points"]):
                return f"test cell {name} changed in the source"
    return ""


def register_assignment(ctx, assignment):
    """Make sure the gradebook holds ``assignment`` as in the source folder (test cells, hidden
    tests, points), running ``nbgrader generate_assignment`` on a throw-away copy of the course
    when it is missing or stale, so that the released exercises are never touched."""
    from mlcourse.release import generated_course

    with gradebook_lock(ctx.db_url):
        if not _stale(ctx, assignment):
            return False
        with generated_course(ctx.root / "nbgrader_config.py", ctx.source_folder(assignment), assignment,
                              db_url=ctx.db_url, source_directory=ctx.dirs.source_directory):
            pass
        return True


def split_hidden(source, begin="BEGIN HIDDEN TESTS", end="END HIDDEN TESTS"):
    """[(line, hidden)] for each line of ``source``; marker lines count as hidden (as in
    nbgrader's ``ClearHiddenTests``)."""
    out, inside = [], False
    for line in source.split("\n"):
        if begin in line:
            inside = True
            out.append((line, True))
        elif end in line:
            inside = False
            out.append((line, True))
        else:
            out.append((line, inside))
    return out


def _delimiters(config):
    section = config.ClearHiddenTests
    return (section.get("begin_test_delimeter", ClearHiddenTests.begin_test_delimeter.default_value),
            section.get("end_test_delimeter", ClearHiddenTests.end_test_delimeter.default_value))


@dataclass
class AssignmentSpec:
    """What grading needs to know of an assignment, read from the gradebook.

    grade_cells: test cell id -> points, in notebook order; solution_cells: ids of answer cells;
    released: locked cell id -> [its source as released (hidden tests removed), its full source];
    order: ids of all nbgrader cells in notebook order; hidden_lines: stripped lines that only
    hidden tests contain; fingerprint: hash of cells, checksums and points.
    """
    assignment: str
    notebook: str
    grade_cells: dict
    solution_cells: list
    released: dict
    order: list
    hidden_lines: list
    delimiters: tuple
    fingerprint: str

    @property
    def max_score(self):
        return float(sum(self.grade_cells.values()))

    @classmethod
    def load(cls, ctx, assignment):
        with Gradebook(ctx.db_url, ctx.dirs.course_id) as gb:
            try:
                notebooks = gb.find_assignment(assignment).notebooks
            except MissingEntry:
                raise ValueError(f"assignment {assignment!r} is not in the gradebook {ctx.db_url}") from None
            if len(notebooks) != 1:
                raise ValueError(f"expected one notebook in assignment {assignment!r}, found {len(notebooks)}")
            nb = notebooks[0]
            points = {c.name: float(c.max_score) for c in nb.grade_cells}
            solutions = [c.name for c in nb.solution_cells]
            sources = {c.name: (c.source, c.checksum, c.locked) for c in nb.source_cells}
            name, kernelspec = nb.name, nb.kernelspec
        try:
            source_nb = nbformat.read(_source_notebook(ctx, assignment), as_version=4)
            order = [c.metadata["nbgrader"]["grade_id"] for c in source_nb.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id") in sources]
        except (ValueError, OSError):
            order = []
        order += sorted(set(sources) - set(order))
        delimiters = _delimiters(ctx.config)
        released, hidden, visible = {}, set(), set()
        for cell_id, (source, _, locked) in sources.items():
            lines = split_hidden(source, *delimiters)
            hidden |= {line.strip() for line, is_hidden in lines if is_hidden}
            visible |= {line.strip() for line, is_hidden in lines if not is_hidden}
            if locked:
                released[cell_id] = ["\n".join(line for line, is_hidden in lines if not is_hidden), source]
        digest = hashlib.sha256(json.dumps(
            [sorted((k, v[1], points.get(k)) for k, v in sources.items()), kernelspec]).encode())
        return cls(assignment=assignment, notebook=name,
                   grade_cells={k: points[k] for k in order if k in points}, solution_cells=solutions,
                   released=released, order=order, hidden_lines=sorted(hidden - visible - {""}),
                   delimiters=delimiters, fingerprint=digest.hexdigest())


@dataclass
class CellOutcome:
    """One test cell of one submission: ``outcome`` is passed, failed, not-run, missing or
    manual; ``where`` says which part failed (visible, hidden, or '' when not known)."""
    name: str
    points: float
    max_points: float
    outcome: str
    message: str = ""
    where: str = ""


@dataclass
class GradeResult:
    """The grade of one submission. ``notebook`` is the executed notebook (None when it did not
    run); ``cells`` one ``CellOutcome`` per test cell of the assignment, in notebook order."""
    student: str
    assignment: str
    status: str
    reason: str
    score: float
    max_score: float
    cells: list = field(default_factory=list)
    notebook: object = None
    run_seconds: float = 0.0
    content_hash: str = ""

    def to_wire(self):
        data = dataclasses.asdict(dataclasses.replace(self, notebook=None))
        data["notebook"] = nbformat.writes(self.notebook) if self.notebook is not None else None
        return data

    @classmethod
    def from_wire(cls, data):
        data = dict(data)
        data["cells"] = [CellOutcome(**c) for c in data["cells"]]
        if data["notebook"] is not None:
            data["notebook"] = nbformat.reads(data["notebook"], as_version=4)
        return cls(**data)


class Rejected(Exception):
    """A submission that cannot be run: carries its status and reason."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status, self.reason = status, reason


def read_submission(data):
    """Parse notebook bytes; raise ``Rejected`` (status ``invalid``) saying what is wrong."""
    if not data.strip():
        raise Rejected("invalid", "the submitted file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise Rejected("invalid", f"the file is not UTF-8 text (byte {err.start}); a notebook is JSON") from None
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        raise Rejected("invalid", f"the file is not a notebook: invalid JSON at line {err.lineno}, "
                                  f"column {err.colno} ({err.msg})") from None
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as err:  # nbformat raises several kinds on malformed notebooks
        raise Rejected("invalid", f"the file is JSON but not a notebook: {err}") from None
    if not isinstance(nb.get("cells"), list):
        raise Rejected("invalid", "the file is JSON but not a notebook: it has no list of cells")
    return nb


def inspect_submission(nb, spec):
    """Compare the submission's cells with the assignment; return notes on what was changed
    (in place: cells whose nbgrader id the assignment lacks lose their nbgrader metadata, so
    they run as ordinary cells). Raise ``Rejected`` for a notebook of another assignment."""
    known = set(spec.order)
    ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells]
    counts = Counter(i for i in ids if i in known)
    foreign = sorted({i for i in ids if i and i not in known})
    if not counts:
        also = f"; its graded cells are {', '.join(foreign[:5])}" if foreign else ""
        raise Rejected("wrong-assignment", f"none of the cells of {spec.assignment} is in this notebook "
                                           f"(another assignment's notebook?){also}")
    notes = []
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in foreign:
            notes.append(f"cell id {cell.metadata['nbgrader']['grade_id']!r} is not in {spec.assignment} "
                         "(renamed?); it ran as an ordinary cell")
            del cell.metadata["nbgrader"]
    for name, points in spec.grade_cells.items():
        if name not in counts:
            notes.append(f"test cell {name} was deleted (0 of {points:g} points)")
    for name in spec.solution_cells:
        if name not in counts and name not in spec.grade_cells:
            notes.append(f"answer cell {name} was deleted")
    last = {i: cell for i, cell in zip(ids, nb.cells) if i in known}
    for name, n in counts.items():
        if n > 1:  # as nbgrader's DeduplicateIds, but leaving no empty metadata it would then reject
            notes.append(f"cell {name} appears {n} times; only the last copy counts")
            for i, cell in zip(ids, nb.cells):
                if i == name and cell is not last[name]:
                    del cell.metadata["nbgrader"]
    for name, texts in spec.released.items():
        cell = last.get(name)
        if cell is not None and cell.source.replace("\r\n", "\n") not in texts:
            notes.append(f"test cell {name} was edited; the original was restored")
    seen = list(dict.fromkeys(i for i in reversed(ids) if i in known))[::-1]
    expected = [i for i in spec.order if i in counts]
    if seen != expected:
        first = next(k for k, (a, b) in enumerate(zip(seen, expected)) if a != b)
        notes.append(f"cells are out of order: {seen[first]} comes before {expected[first]}")
    return notes


def _error(ename, evalue):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class SandboxedExecute(Execute):
    """nbgrader's ``Execute`` with the kernel in the sandbox, one wall-time limit for the whole
    notebook, a cap on output, and a stopped or dead kernel costing only unfinished cells."""

    def __init__(self, rundir, uid, limits, **kw):
        super().__init__(**kw)
        self.rundir, self.uid, self.limits = Path(rundir), uid, limits
        self.shutdown_kernel = "immediate"
        # a reply whose last outputs lag (a busy machine) must not fail the notebook, as it does in
        # nbgrader: the reply's status still counts, and floods are caught by the output limit
        self.raise_on_iopub_timeout = False
        self.iopub_timeout = max(self.iopub_timeout, 10)
        self.stop = None  # (status, message) once the kernel was stopped or died
        self.deadline = self.started = self.ended = None
        self.output_bytes = self.forks = 0
        self.zmq_context = zmq.asyncio.Context()
        self.zmq_context.setsockopt(zmq.MAXMSGSIZE, (limits.output_mb + 1) * MB)

    def create_kernel_manager(self):
        name = self.kernel_name or self.nb.metadata.get("kernelspec", {}).get("name") or "python3"
        self.km = SandboxKernelManager(self.rundir, self.rundir / "work", self.uid, self.limits,
                                       kernel_name=name, context=self.zmq_context, config=self.config)
        return self.km

    def close(self):
        self.zmq_context.destroy(linger=0)

    @property
    def run_seconds(self):
        """Seconds from the first cell's start to the last cell's end (the kernel start excluded)."""
        return 0.0 if self.started is None else self.ended - self.started

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        if self.deadline is None:
            return timeout
        left = max(0.05, self.deadline - monotonic())
        return left if timeout is None else min(timeout, left)

    def _halt(self, status, message):
        if self.stop is None:
            self.stop = (status, message)
        self.km.kill_now()

    async def _async_check_alive(self):
        # polled about once a second while a cell runs: a fork bomb's copies are reaped here
        if self.uid is not None:
            n = len(user_processes(self.uid))
            if n >= max(2, self.limits.processes // 2):
                self.forks = max(self.forks, n)
                kill_forks(self.uid)
        await super()._async_check_alive()

    async def _async_handle_timeout(self, timeout, cell=None):
        if self.deadline is not None and monotonic() >= self.deadline - 0.01:
            self._halt("timeout", f"time limit of {self.limits.timeout:g} s reached")
            raise DeadKernelError("stopped at the time limit")
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        self.output_bytes += len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
        if self.output_bytes > self.limits.output_mb * MB:
            self._halt("output-limit", f"the notebook printed more than {self.limits.output_mb} MB")
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _death(self):
        code = self.km.exit_status() if self.km is not None else None
        if code == -signal.SIGXCPU:
            return "cpu-limit", f"CPU-time limit of {self.limits.cpu} s reached"
        if code == -signal.SIGXFSZ:
            return "kernel-died", f"the kernel wrote a file larger than {self.limits.file_mb} MB"
        if code is not None and code < 0:
            return "kernel-died", f"the kernel was killed by {signal.Signals(-code).name}"
        return "kernel-died", f"the kernel exited (exit code {code})"

    async def _async_free_failed_cell(self):
        """Data segment in MiB the kernel still uses after freeing a failed cell's locals, or None
        when it gave no answer in time."""
        msg_id = self.kc.execute(FREE_FAILED_CELL, silent=True, store_history=False, allow_stdin=False,
                                 user_expressions={"kb": "_mlcourse_data_kb"})
        until = min(monotonic() + 15, self.deadline or float("inf"))
        while monotonic() < until:
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=min(1.0, max(0.05, until - monotonic())))
            except Empty:
                await self._async_check_alive()
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                answer = msg["content"].get("user_expressions", {}).get("kb", {})
                try:
                    return int(answer.get("data", {}).get("text/plain", "")) / 1024
                except ValueError:
                    return None
        return None

    def _recover_memory(self, name):
        """After a MemoryError in cell ``name``: free what the failed cell left behind, and stop the
        kernel when the notebook itself still holds nearly all of its memory."""
        limit = self.limits.memory_mb
        try:
            held = run_sync(self._async_free_failed_cell)()
        except DeadKernelError:
            self.stop = ("memory-limit", f"the notebook ran out of memory (limit {limit} MB per process) in cell "
                                         f"{name}, and the kernel died")
            return
        if held is None:
            self._halt("memory-limit", f"the notebook ran out of memory (limit {limit} MB per process) in cell "
                                       f"{name}, and the kernel did not answer afterwards; it was stopped")
        elif held > limit - max(64, limit / 8):
            self._halt("memory-limit", f"the notebook ran out of memory (limit {limit} MB per process) in cell "
                                       f"{name} and still held {held:.0f} MB after that cell had ended: a variable "
                                       "that outlives the cell (a global) keeps it, so the kernel was stopped")

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self.stop is not None:
            cell.outputs = [_error(NOT_RUN, f"not run: {self.stop[1]}")]
            return cell, resources
        if self.deadline is None:
            self.started = monotonic()
            self.deadline = self.started + self.limits.timeout
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
            if self.uid is not None and any(o.get("ename") == "BlockingIOError" for o in cell.outputs):
                self.forks = max(self.forks, kill_forks(self.uid) + 1)
            if self.stop is None and any(o.get("ename") == "MemoryError" for o in cell.outputs):
                self._recover_memory(cell.metadata.get("nbgrader", {}).get("grade_id", f"{index + 1} (not graded)"))
            return cell, resources
        except DeadKernelError:
            if self.stop is None:
                self.stop = self._death()
        except CellTimeoutError as err:  # IOPub never went idle: output lost or kernel stuck
            flood = self.output_bytes > MB
            self._halt("output-limit" if flood else "timeout", f"the kernel's output stopped arriving ({err})")
        finally:
            self.ended = monotonic()
        name = cell.metadata.get("nbgrader", {}).get("grade_id", f"{index + 1} (not graded)")
        self.stop = (self.stop[0], f"{self.stop[1]} in cell {name}")
        cell.outputs.append(_error(STOPPED, self.stop[1]))
        return cell, resources


def _resources(spec, student, ctx, workdir=None):
    res = {"unique_key": spec.notebook, "output_files_dir": f"{spec.notebook}_files",
           "nbgrader": {"student": student, "assignment": spec.assignment, "notebook": spec.notebook,
                        "db_url": ctx.db_url}}
    if workdir is not None:
        res["metadata"] = {"path": str(workdir)}
    return res


def stage_files(dest, submission_folder, source_folder, ignore):
    """Copy the non-notebook files of a submission, then those of the assignment's source
    folder over them (what nbgrader puts beside the notebook it grades)."""
    for folder in (submission_folder, source_folder):
        if folder is None or not Path(folder).is_dir():
            continue
        for name in utils.find_all_files(str(folder), list(ignore) + ["*.ipynb", "timestamp.txt"]):
            target = Path(dest) / os.path.relpath(name, folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                target.unlink()
            shutil.copy(name, target)


def _first_line(text, limit=300):
    text = ANSI.sub("", str(text)).strip().splitlines()
    text = text[0] if text else ""
    return text if len(text) <= limit else text[:limit] + "..."


def error_location(cell, error, delimiters):
    """'hidden' or 'visible': the part of a test cell whose line raised ``error``; '' if unknown."""
    count = cell.get("execution_count")
    if count is None:
        return ""
    frame = re.compile(rf"In\s*\[{count}\],\s*line\s+(\d+)")
    for entry in error.get("traceback", []):
        found = frame.search(ANSI.sub("", entry))
        if found:
            lines = split_hidden(cell.source, *delimiters)
            number = int(found.group(1))
            if 1 <= number <= len(lines):
                return "hidden" if lines[number - 1][1] else "visible"
            return ""
    return ""


def cell_outcomes(nb, spec, points=None):
    """One ``CellOutcome`` per test cell of ``spec``, from an executed notebook ``nb``; points
    from ``points`` ({cell: points}, e.g. the gradebook's) or else nbgrader's ``determine_grade``."""
    if nb is None:
        return [CellOutcome(name, 0.0, pts, "not-run", "the notebook was not run")
                for name, pts in spec.grade_cells.items()]
    found = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
             if utils.is_grade(c) and "grade_id" in c.metadata.get("nbgrader", {})}
    out = []
    for name, max_points in spec.grade_cells.items():
        cell = found.get(name)
        if cell is None:
            out.append(CellOutcome(name, 0.0, max_points, "missing", "not in the submission"))
            continue
        auto, _ = utils.determine_grade(cell)
        got = float(points[name]) if points and name in points else float(auto or 0.0)
        if auto is None:
            out.append(CellOutcome(name, got, max_points, "manual", "needs a manual grade"))
            continue
        error = next((o for o in cell.get("outputs", []) if o.output_type == "error"), None)
        stderr = next((o for o in cell.get("outputs", []) if o.output_type == "stream" and o.name == "stderr"), None)
        if error is not None:
            outcome = "not-run" if error.ename == NOT_RUN else "failed"
            out.append(CellOutcome(name, got, max_points, outcome, _first_line(f"{error.ename}: {error.evalue}"),
                                   error_location(cell, error, spec.delimiters)))
        elif stderr is not None:
            out.append(CellOutcome(name, got, max_points, "failed", "wrote to stderr: " + _first_line(stderr.text)))
        else:
            out.append(CellOutcome(name, got, max_points, "passed" if got >= max_points else "failed"))
    return out


def decide(nb, cells, notes, executor):
    """(status, reason) of a submission that ``executor`` (a ``SandboxedExecute``) ran."""
    problems = []
    for cell in nb.cells:
        if utils.is_solution(cell) and not utils.is_grade(cell):
            for o in cell.get("outputs", []):
                if o.output_type == "error" and o.ename not in (NOT_RUN, STOPPED):
                    problems.append(f"{_first_line(o.ename + ': ' + str(o.evalue), 120)} in answer cell "
                                    f"{cell.metadata['nbgrader']['grade_id']}")
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    stop, limits = executor.stop, executor.limits
    forked = executor.forks or any(o.ename == "BlockingIOError" for o in errors)
    if forked:
        problems.insert(0, f"the notebook started too many processes (limit {limits.processes} with threads);"
                           " all but the kernel were killed")
    out_of_memory = any(o.ename == "MemoryError" for o in errors)
    if stop is not None:
        status = "memory-limit" if out_of_memory and stop[0] == "kernel-died" else stop[0]
        problems.insert(0, stop[1] + "; later cells were not run")
        if status != stop[0]:
            problems.insert(0, f"the notebook ran out of memory (limit {limits.memory_mb} MB per process)")
    elif out_of_memory:
        status = "memory-limit"
        problems.insert(0, f"the notebook ran out of memory (limit {limits.memory_mb} MB per process)")
    elif forked:
        status = "process-limit"
    else:
        status = "modified" if notes else "graded"
    lost = [f"{c.name} {c.outcome}" + (f" ({c.message.split(':')[0]})" if c.message and c.outcome == "failed" else "")
            for c in cells if c.points < c.max_points and c.outcome != "missing"]
    if lost:
        problems.append("lost points: " + ", ".join(lost))
    return status, "; ".join(notes + problems)


class Grader:
    """Grades submissions one after another for one worker: the course, the assignment, the
    limits and (with the sandbox) a spare uid of its own."""

    def __init__(self, ctx, spec, limits=Limits(), sandbox=True):
        self.ctx, self.spec, self.limits, self.sandbox = ctx, spec, limits, sandbox
        self.config = ctx.grading_config
        self.lease = UidLease() if sandbox else None
        self.fonts = _matplotlib_cache()

    @property
    def uid(self):
        return self.lease.uid if self.lease is not None else None

    def close(self):
        if self.lease is not None:
            self.lease.release()
            self.lease = None

    def _prepare(self, rundir, folder):
        for sub in ("work", "home/.matplotlib"):
            (rundir / sub).mkdir(parents=True)
        for font_cache in self.fonts:
            shutil.copy(font_cache, rundir / "home/.matplotlib")
        stage_files(rundir / "work", folder, self.ctx.source_folder(self.spec.assignment), self.ctx.dirs.ignore)
        if self.uid is not None:
            for path in [rundir, *rundir.rglob("*")]:
                os.lchown(path, self.uid, self.uid)

    def grade(self, data, student, folder=None):
        """Grade notebook bytes ``data`` of ``student`` (``folder``: their submission folder, for
        other files); returns a ``GradeResult`` whose points are nbgrader's ``determine_grade``."""
        spec, max_score = self.spec, self.spec.max_score
        try:
            nb = read_submission(data)
            notes = inspect_submission(nb, spec)
        except Rejected as err:
            return GradeResult(student, spec.assignment, err.status, err.reason, 0.0, max_score,
                               cell_outcomes(None, spec))
        resources = _resources(spec, student, self.ctx)
        try:
            for pp in SANITIZE:
                nb, resources = pp(config=self.config)(nb, resources)
        except Exception as err:  # nbgrader refuses notebooks whose metadata it cannot repair
            return GradeResult(student, spec.assignment, "invalid", f"nbgrader could not read the notebook's "
                               f"cells: {_first_line(err)}", 0.0, max_score, cell_outcomes(None, spec))
        rundir = Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=RUN_DIRS))
        executor = None
        try:
            self._prepare(rundir, folder)
            executor = SandboxedExecute(rundir, self.uid, self.limits, config=self.config)
            resources = _resources(spec, student, self.ctx, rundir / "work")
            try:
                nb, resources = executor(nb, resources)
            except Exception as err:
                log = executor.km.startup_log() if getattr(executor, "km", None) is not None else ""
                return GradeResult(student, spec.assignment, "error", f"the kernel did not run: "
                                   f"{_first_line(err)} {_first_line(log)}".strip(), 0.0, max_score,
                                   cell_outcomes(None, spec))
            for pp in AFTER_EXECUTE:
                nb, resources = pp(config=self.config)(nb, resources)
            cells = cell_outcomes(nb, spec)
            status, reason = decide(nb, cells, notes, executor)
            return GradeResult(student, spec.assignment, status, reason, sum(c.points for c in cells), max_score,
                               cells, nb, run_seconds=round(executor.run_seconds, 3))
        finally:
            if executor is not None:
                executor.close()
            if self.uid is not None:
                kill_user(self.uid)
            shutil.rmtree(rundir, ignore_errors=True)


def _matplotlib_cache():
    """The font cache files of this matplotlib, built once here so no kernel rebuilds them."""
    try:
        import matplotlib
        from matplotlib import font_manager  # noqa: F401 (builds the cache when missing)
    except ImportError:
        return []
    return sorted(Path(matplotlib.get_cachedir()).glob("fontlist-*.json"))


def course_limits(ctx, timeout=None, memory=None):
    """Limits for ``ctx``: ``timeout`` seconds (default: its Execute.timeout), ``memory`` MiB (default 2048)."""
    return Limits(timeout=float(timeout or ctx.config.Execute.get("timeout", 120)), memory_mb=int(memory or 2048))


_CHECKED = set()


def ensure_sandbox(limits, sandbox=True):
    """Refuse clearly when the sandbox cannot start (checked once per process); with
    ``sandbox=False`` print the loud warning instead."""
    if not sandbox:
        print(NO_SANDBOX_WARNING, file=sys.stderr)
        return
    if "ok" in _CHECKED:
        return
    lease = UidLease()
    try:
        with tempfile.TemporaryDirectory(prefix="mlg-check-", dir="/tmp") as tmp:
            check_sandbox(lease.uid, limits, Path(tmp) / "run")
    finally:
        lease.release()
    _CHECKED.add("ok")


def autograde(path, assignment, *, course=".", db=None, timeout=None, memory=None, sandbox=True):
    """Grade one notebook ``path`` as a submission of ``assignment`` of the nbgrader course in
    ``course`` and return a ``GradeResult`` (score, max_score, status, reason, per-cell
    outcomes, executed notebook). Nothing is recorded: a gradebook that lacks the assignment is
    left alone and a temporary one is built from the course's source folder.

    timeout: wall-clock seconds for the notebook's cells (default: the course's Execute.timeout);
    memory: MiB per process (default 2048); sandbox=False runs the student code unconfined.
    """
    ctx = CourseContext(course, db)
    limits = course_limits(ctx, timeout, memory)
    ensure_sandbox(limits, sandbox)
    data = Path(path).read_bytes() if Path(path).exists() else None
    with tempfile.TemporaryDirectory(prefix="mlcourse-autograde-") as tmp:
        if _stale(ctx, assignment):
            ctx = CourseContext(ctx.root, f"sqlite:///{tmp}/gradebook.db")
            register_assignment(ctx, assignment)
        spec = AssignmentSpec.load(ctx, assignment)
        student = Path(path).stem
        if data is None:
            return GradeResult(student, assignment, "missing", f"no notebook at {path}", 0.0, spec.max_score,
                               cell_outcomes(None, spec))
        grader = Grader(ctx, spec, limits, sandbox)
        try:
            return grader.grade(data, student, None)
        finally:
            grader.close()
