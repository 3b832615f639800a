"""Grading one submission after another in one worker (``Grader``), and one notebook from Python
(``autograde``): read, sanitize, run in the sandbox, score, and decide the status; nothing is
recorded here (``store.py`` does that)."""
import os
import shutil
import sys
import tempfile
from pathlib import Path

from ..course import Course
from ..student_package import copy_student_package
from .execute import SandboxedExecute, _resources, pipeline, stage_files
from .language import notebook_language
from .outcome import GradeResult, _first_line, cell_outcomes, decide, unrun
from .sandbox import NO_SANDBOX_WARNING, RUN_DIRS, RUN_PREFIX, Limits, UidLease, check_sandbox, kill_user
from .spec import AssignmentSpec, _stale, register_assignment
from .submission import Rejected, inspect_submission, read_submission


class Grader:
    """Grades submissions one after another for one worker: the course, the assignment, the
    limits and (with the sandbox) a spare uid of its own."""

    def __init__(self, ctx, spec, limits=Limits(), sandbox=True):
        self.ctx, self.spec, self.limits, self.sandbox = ctx, spec, limits, sandbox
        self.config = ctx.grading_config
        self.pipeline = pipeline(self.config)
        self.lease = UidLease() if sandbox else None
        self.fonts = _matplotlib_cache()
        self.package = None  # a judged assignment's kernel gets the student package, without the answer key
        if spec.judged is not None and sandbox:
            self.package = copy_student_package(Path(tempfile.mkdtemp(prefix="mlcourse-pkg-", dir=RUN_DIRS)) / "mlcourse")
            self.package.parent.chmod(0o755)

    @property
    def uid(self):
        return self.lease.uid if self.lease is not None else None

    def close(self):
        if self.package is not None:
            shutil.rmtree(self.package.parent, ignore_errors=True)
            self.package = None
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
            return unrun(student, spec, err.status, err.reason)
        resources = _resources(spec, student, self.ctx)
        try:
            for pp in self.pipeline.sanitize + self.pipeline.before:
                nb, resources = pp(config=self.config)(nb, resources)
        except Exception as err:  # nbgrader refuses notebooks whose metadata it cannot repair
            return unrun(student, spec, "invalid", f"nbgrader could not read the notebook's cells: {_first_line(err)}")
        restore_edition(nb, spec)
        rundir = Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=RUN_DIRS))
        executor = None
        try:
            self._prepare(rundir, folder)
            executor = SandboxedExecute(rundir, self.uid, self.limits, spec.judged, self.package, spec.given,
                                        config=self.config)
            resources = _resources(spec, student, self.ctx, rundir / "work")
            try:
                nb, resources = executor(nb, resources)
            except Exception as err:
                log = executor.km.startup_log() if getattr(executor, "km", None) is not None else ""
                return unrun(student, spec, "error", f"the kernel did not run: {_first_line(err)} {_first_line(log)}".strip())
            for pp in self.pipeline.after:
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


def restore_edition(nb, spec):
    """A translated notebook's locked cells as its own edition has them: nbgrader restored the
    English text from the gradebook; the Chinese test cells are the same code with Chinese words."""
    cells = spec.editions.get(notebook_language(nb))
    if not cells:
        return
    for cell in nb.cells:
        cell_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell_id in cells and cell.metadata["nbgrader"].get("locked"):
            cell.source = cells[cell_id][1]


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


def autograde(path, assignment, *, notebook=None, course=None, db=None, timeout=None, memory=None, sandbox=True):
    """Grade one notebook ``path`` as a submission of ``assignment`` of the nbgrader course in
    ``course`` and return a ``GradeResult`` (score, max_score, status, reason, per-cell
    outcomes, executed notebook). Nothing is recorded: a gradebook that lacks the assignment is
    left alone and a temporary one is built from the course's source folder.

    notebook: which of the assignment's notebooks ``path`` is (default: its only one);
    timeout: wall-clock seconds for the notebook's cells (default: the course's Execute.timeout);
    memory: MiB per process (default 2048); sandbox=False runs the student code unconfined.
    """
    ctx = Course(course, db)
    limits = course_limits(ctx, timeout, memory)
    ensure_sandbox(limits, sandbox)
    data = Path(path).read_bytes() if Path(path).exists() else None
    with tempfile.TemporaryDirectory(prefix="mlcourse-autograde-") as tmp:
        if _stale(ctx, assignment):
            ctx = Course(ctx.root, f"sqlite:///{tmp}/gradebook.db")
            register_assignment(ctx, assignment)
        spec = AssignmentSpec.load(ctx, assignment, notebook)
        student = Path(path).stem
        if data is None:
            return unrun(student, spec, "missing", f"no notebook at {path}")
        grader = Grader(ctx, spec, limits, sandbox)
        try:
            return grader.grade(data, student, None)
        finally:
            grader.close()
