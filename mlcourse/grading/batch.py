"""Grade a whole class: find the submissions, skip those graded before and unchanged, run the
rest in long-lived worker processes, and record every result from this process alone (one
writer) into nbgrader's gradebook.

Durability: each submission's files (``autograded/``, ``feedback/``) are written first and its
row in the table ``mlcourse_grading`` (content hash, status, reason, per-cell outcomes) last,
in the gradebook database itself. nbgrader's own rows are updated in place (one per student
and cell), so a run killed at any moment and started again regrades exactly the submissions
whose row is missing or stale, and every grade ends up present once.
"""
import csv
import ctypes
import dataclasses
import datetime
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import sys
import warnings
import zipfile
from collections import Counter, deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from time import monotonic

import nbformat
from nbgrader import utils
from nbgrader.api import Gradebook
from sqlalchemy import Column, DateTime, Float, MetaData, String, Table, Text, create_engine, delete, insert, select
from sqlalchemy.exc import SAWarning

from ..atomic import atomic_open
from .engine import (GRADER_VERSION, RECORD, RETRIED, STATUSES, AssignmentSpec, CourseContext, GradeResult, Grader,
                     _resources, cell_outcomes, course_limits, ensure_sandbox, gradebook_lock, register_assignment,
                     stage_files)

STUDENT_ID = re.compile(r"^[\w@+\-][\w .@+\-]*$")
METADATA = MetaData()
RESULTS = Table(
    "mlcourse_grading", METADATA,
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("content_hash", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("max_score", Float, nullable=False),
    Column("cells", Text, nullable=False),
    Column("run_seconds", Float),
    Column("graded_at", DateTime),
)
CSV_FIELDS = ["student", "score", "max_score", "status", "reason"]
CELL_FIELDS = ["student", "cell", "points", "max_points", "outcome", "where", "message"]


@dataclass
class Submission:
    """One student's notebook: a file (``path``), an entry ``member`` of the zip at ``path``, or
    nothing (missing). ``folder`` is the nbgrader submission folder (other files, timestamp)."""
    student: str
    path: str = None
    member: str = None
    folder: str = None

    def read(self):
        """The notebook's bytes, or None when it is missing."""
        if self.path is None:
            return None
        if self.member is not None:
            with zipfile.ZipFile(self.path) as archive:
                return archive.read(self.member)
        return Path(self.path).read_bytes()


def parse_shard(text):
    """'I/N' -> (I, N) with 1 <= I <= N."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ValueError(f"--shard expects I/N with 1 <= I <= N (e.g. 2/3), got {text!r}")
    return int(match.group(1)), int(match.group(2))


def in_shard(student, shard):
    """Whether ``student`` belongs to ``shard`` (I, N): a stable hash of the id, so any machine
    agrees and the N shards are disjoint and cover everyone."""
    if shard is None:
        return True
    index, count = shard
    return int(hashlib.sha256(student.encode()).hexdigest()[:12], 16) % count == index - 1


def find_submissions(ctx, assignment, notebook, source=None):
    """Submissions of ``assignment``, sorted by student, and the files ignored because their
    name is no usable student id. ``source``: nbgrader's submitted/<student>/<assignment>/
    layout (default: the course's), a folder of <student>.ipynb files, or a zip of them."""
    source = Path(source) if source is not None else ctx.root / ctx.dirs.submitted_directory
    found, ignored = {}, []
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise ValueError(f"--submissions expects a folder or a .zip of notebooks, got the file {source}")
        with zipfile.ZipFile(source) as archive:
            entries = [n for n in archive.namelist() if n.endswith(".ipynb") and "__MACOSX" not in n]
        named = [(Path(n).stem, n) for n in entries if not Path(n).name.startswith(".")]
        for student, entry in named:
            found.setdefault(student, []).append(Submission(student, str(source), member=entry))
    elif source.is_dir():
        layout = [d for d in source.iterdir() if (d / assignment).is_dir()]
        if layout:
            for folder in layout:
                nb = folder / assignment / f"{notebook}.ipynb"
                found.setdefault(folder.name, []).append(
                    Submission(folder.name, str(nb) if nb.exists() else None, folder=str(folder / assignment)))
        else:
            for nb in source.glob("*.ipynb"):
                found.setdefault(nb.stem, []).append(Submission(nb.stem, str(nb)))
    elif source == ctx.root / ctx.dirs.submitted_directory:
        pass  # no submissions yet: only the roster's students, all missing
    else:
        raise ValueError(f"--submissions: no such folder or zip file: {source}")
    out = []
    for student, subs in found.items():
        if not STUDENT_ID.match(student):
            ignored += [s.member or s.path or s.folder for s in subs]
        elif len(subs) > 1:
            ignored += [f"{s.member or s.path} (several notebooks for {student})" for s in subs]
        else:
            out.append(subs[0])
    return sorted(out, key=lambda s: s.student), sorted(ignored)


def content_hash(submission, spec, data, ignore):
    """What a grade depends on: the notebook, the other files beside it (timestamp included),
    the assignment's cells and points, and the grader's version."""
    digest = hashlib.sha256(f"{GRADER_VERSION}\0{spec.fingerprint}\0".encode())
    digest.update(b"<missing>" if data is None else data)
    if submission.folder and Path(submission.folder).is_dir():
        for name in sorted(utils.find_all_files(submission.folder, list(ignore) + ["*.ipynb"])):
            digest.update(os.path.relpath(name, submission.folder).encode() + b"\0" + Path(name).read_bytes())
    return digest.hexdigest()


class ResultsTable:
    """The table ``mlcourse_grading`` in the gradebook database: one row per (assignment, student)."""

    def __init__(self, db_url):
        self.engine = create_engine(db_url)
        METADATA.create_all(self.engine)

    def rows(self, assignment):
        with self.engine.connect() as conn:
            found = conn.execute(select(RESULTS).where(RESULTS.c.assignment == assignment)).mappings()
            return {row["student"]: dict(row) for row in found}

    def save(self, row):
        key = (RESULTS.c.assignment == row["assignment"]) & (RESULTS.c.student == row["student"])
        with self.engine.begin() as conn:  # one transaction: the row is replaced, never doubled
            conn.execute(delete(RESULTS).where(key))
            conn.execute(insert(RESULTS).values(**row))

    def close(self):
        self.engine.dispose()


def _die_with_parent():
    """Linux: SIGKILL this process when its parent dies (a grader killed with kill -9)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker_main(conn, ctx, spec, limits, sandbox):
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    grader = Grader(ctx, spec, limits, sandbox)
    try:
        while True:
            try:
                task = conn.recv()
            except EOFError:
                break
            if task is None:
                break
            try:
                result = grader.grade(task.read(), task.student, task.folder)
            except Exception as err:  # a fault of the grader: recorded as 'error' and retried next run
                result = GradeResult(task.student, spec.assignment, "error", f"grader error: {err!r}"[:500],
                                     0.0, spec.max_score, cell_outcomes(None, spec))
            conn.send(result.to_wire())
    finally:
        grader.close()


@dataclass
class _Worker:
    process: object
    conn: object
    task: Submission = None
    since: float = 0.0


class WorkerPool:
    """``n`` long-lived grading processes (each imports nbgrader once and holds its own sandbox
    uid); submissions go out one at a time, so a worker that dies costs only its own task."""

    def __init__(self, n, ctx, spec, limits, sandbox):
        self.args = (ctx, spec, limits, sandbox)
        self.mp = multiprocessing.get_context("spawn")
        self.stall = limits.timeout + 300
        self.workers = [self._start() for _ in range(n)]

    def _start(self):
        parent, child = self.mp.Pipe()
        process = self.mp.Process(target=_worker_main, args=(child, *self.args), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def _fail(self, worker, reason):
        spec = self.args[1]
        result = GradeResult(worker.task.student, spec.assignment, "error", reason, 0.0, spec.max_score,
                             cell_outcomes(None, spec))
        worker.process.kill()
        worker.process.join()
        self.workers[self.workers.index(worker)] = self._start()
        return result

    def run(self, tasks, on_result):
        """Grade ``tasks`` (Submissions); call ``on_result(submission, GradeResult)`` in this
        process as each finishes."""
        queue = deque(tasks)
        while True:
            for worker in self.workers:
                if worker.task is None and queue:
                    worker.task, worker.since = queue.popleft(), monotonic()
                    worker.conn.send(worker.task)
            busy = [w for w in self.workers if w.task is not None]
            if not busy:
                return
            wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=1.0)
            for worker in busy:
                task, result = worker.task, None
                if worker.conn.poll():
                    try:
                        result = GradeResult.from_wire(worker.conn.recv())
                    except (EOFError, OSError):
                        result = self._fail(worker, "the grading worker died")
                elif not worker.process.is_alive():
                    result = self._fail(worker, f"the grading worker died (exit code {worker.process.exitcode})")
                elif monotonic() - worker.since > self.stall:
                    result = self._fail(worker, f"the grading worker stalled for {self.stall:g} s and was killed")
                if result is not None:
                    worker.task = None
                    on_result(task, result)

    def close(self):
        for worker in self.workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        for worker in self.workers:
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.kill()


def _replace_dir(staged, dest):
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(staged, dest)


def _write_text(path, text):
    with atomic_open(path, "w") as f:
        f.write(text)


class Recorder:
    """Writes each result, in this process only: autograded files, nbgrader's gradebook
    (student, submission, nbgrader's SaveAutoGrades and AssignLatePenalties), feedback, and
    last the row of ``mlcourse_grading``."""

    def __init__(self, ctx, spec, table, feedback=False):
        self.ctx, self.spec, self.table, self.feedback = ctx, spec, table, feedback
        self.config = ctx.grading_config

    def autograded(self, student):
        return self.ctx.folder(self.ctx.dirs.autograded_directory, student, self.spec.assignment)

    def feedback_file(self, student):
        folder = self.ctx.folder(self.ctx.dirs.feedback_directory, student, self.spec.assignment)
        return folder / f"{self.spec.notebook}.html"

    def _write_autograded(self, submission, nb):
        dest = self.autograded(submission.student)
        if nb is None:
            shutil.rmtree(dest, ignore_errors=True)  # no stale notebook of an earlier submission
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        staged = dest.parent / f".{dest.name}.partial-{os.getpid()}"
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir()
        stage_files(staged, submission.folder, self.ctx.source_folder(self.spec.assignment), self.ctx.dirs.ignore)
        if submission.folder and (Path(submission.folder) / "timestamp.txt").exists():
            shutil.copy(Path(submission.folder) / "timestamp.txt", staged)
        nbformat.write(nb, staged / f"{self.spec.notebook}.ipynb")
        _replace_dir(staged, dest)

    def _write_gradebook(self, submission, result):
        spec, student = self.spec, submission.student
        timestamp = self.ctx.dirs.get_existing_timestamp(submission.folder) if submission.folder else None
        with Gradebook(self.ctx.db_url, self.ctx.dirs.course_id) as gb:
            gb.update_or_create_student(student)
            if timestamp:
                gb.update_or_create_submission(spec.assignment, student, timestamp=timestamp)
            else:
                gb.update_or_create_submission(spec.assignment, student)
        if result.notebook is not None:
            resources = _resources(spec, student, self.ctx)
            nb = result.notebook
            for pp in RECORD:
                nb, resources = pp(config=self.config)(nb, resources)
        present = {c.metadata["nbgrader"]["grade_id"] for c in result.notebook.cells
                   if utils.is_grade(c)} if result.notebook is not None else set()
        with Gradebook(self.ctx.db_url, self.ctx.dirs.course_id) as gb:
            graded = gb.find_submission_notebook(spec.notebook, spec.assignment, student)
            for grade in graded.grades:
                if grade.name not in present:  # deleted test cell or unreadable notebook: zero, not stale
                    grade.auto_score, grade.needs_manual_grade = 0.0, False
            gb.db.commit()
            points = {g.name: float(g.score) for g in graded.grades}
            score = float(graded.score) - float(graded.late_submission_penalty or 0.0)
        return points, score

    def record(self, submission, result, chash):
        """Record one result; returns its row."""
        cells, score = result.cells, result.score
        if result.status not in RETRIED | {"missing"}:
            self._write_autograded(submission, result.notebook)
            with warnings.catch_warnings():  # nbgrader's own session warnings, harmless and noisy
                warnings.simplefilter("ignore", SAWarning)
                points, score = self._write_gradebook(submission, result)
            cells = cell_outcomes(result.notebook, self.spec, points)
        row = dict(assignment=self.spec.assignment, student=submission.student, content_hash=chash,
                   status=result.status, reason=result.reason, score=round(score, 6),
                   max_score=self.spec.max_score, cells=json.dumps([dataclasses.asdict(c) for c in cells]),
                   run_seconds=result.run_seconds, graded_at=datetime.datetime.now(datetime.timezone.utc))
        if self.feedback:
            self.write_feedback(submission.student, row, result.notebook)
        self.table.save(row)
        return row

    def write_feedback(self, student, row, nb=None):
        from .feedback import render_feedback

        if nb is None and row["status"] not in RETRIED | {"missing", "invalid", "wrong-assignment"}:
            path = self.autograded(student) / f"{self.spec.notebook}.ipynb"
            nb = nbformat.read(path, as_version=4) if path.exists() else None
        _write_text(self.feedback_file(student), render_feedback(self.spec, student, row, nb))


def write_csvs(path, rows):
    """One row per student (score, max score, status, reason) at ``path``, and one per student
    and test cell beside it (``<name>_cells.csv``); returns both paths."""
    path = Path(path)
    cells_path = path.with_name(f"{path.stem}_cells{path.suffix or '.csv'}")
    for target, fields, records in (
            (path, CSV_FIELDS, [{k: r[k] for k in CSV_FIELDS} for r in rows]),
            (cells_path, CELL_FIELDS, [{"student": r["student"], "cell": c["name"],
                                        **{k: c[k] for k in CELL_FIELDS[2:]}}
                                       for r in rows for c in json.loads(r["cells"])])):
        with atomic_open(target, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(records)
    return path, cells_path


def summary(assignment, rows, ran, skipped, ignored, csv_paths, bins=5):
    """The text printed after a run: counts per status, a score histogram, what went wrong."""
    lines = [f"{assignment}: {len(rows)} students, {ran} graded now, {skipped} unchanged since the last run"]
    counts = Counter(r["status"] for r in rows)
    lines += ["", "  status             count"] + [f"  {s:<18} {counts[s]:>5}" for s in STATUSES if counts[s]]
    if rows:
        top = max(r["max_score"] for r in rows) or 1.0
        edges = [top * k / bins for k in range(bins + 1)]
        hist = Counter(min(max(int(r["score"] / top * bins), 0), bins - 1) for r in rows)  # late penalties can go below 0
        lines += ["", f"  score (of {top:g})"]
        lines += [f"  {edges[k]:5.1f} - {edges[k + 1]:5.1f}  {'#' * hist[k]} {hist[k]}" for k in range(bins)]
    trouble = [r for r in rows if r["status"] != "graded"]
    if trouble:
        lines += ["", "  not graded cleanly:"]
        lines += [f"  {r['student']:<16} {r['status']:<16} {r['reason'][:160]}" for r in trouble]
    if ignored:
        lines += ["", "  ignored files (no usable student id): " + ", ".join(ignored[:10])]
    lines += ["", f"  grades: {csv_paths[0]}   per cell: {csv_paths[1]}"]
    return "\n".join(lines)


@dataclass
class ClassReport:
    """What a run did: a row per student (as stored), how many ran and how many were unchanged,
    files ignored, the two CSV paths and the printed summary."""
    rows: list
    ran: int
    skipped: int
    ignored: list
    csv_paths: tuple
    text: str


def grade_class(assignment, *, course=".", submissions=None, workers=1, timeout=None, memory=None, db=None,
                shard=None, feedback=False, output=None, sandbox=True, force=False, progress=True):
    """Grade every submission of ``assignment`` (see ``mlcourse grade --help``) and return a
    ``ClassReport``. Refuses (``SandboxUnavailable``) when the sandbox cannot start, unless
    ``sandbox=False``."""
    if int(workers) < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    ctx = CourseContext(course, db)
    limits = course_limits(ctx, timeout, memory)
    ensure_sandbox(limits, sandbox)
    register_assignment(ctx, assignment)
    with gradebook_lock(ctx.db_url):
        table = ResultsTable(ctx.db_url)
    try:
        spec = AssignmentSpec.load(ctx, assignment)
        subs, ignored = find_submissions(ctx, assignment, spec.notebook, submissions)
        previous = table.rows(assignment)
        with Gradebook(ctx.db_url, ctx.dirs.course_id) as gb:
            roster = {s.id for s in gb.students} | set(previous)
        subs += [Submission(s) for s in sorted(roster - {s.student for s in subs})]
        subs = [s for s in subs if in_shard(s.student, shard)]
        recorder = Recorder(ctx, spec, table, feedback)
        todo, rows, skipped = [], {}, 0
        for sub in subs:
            data = sub.read()
            chash = content_hash(sub, spec, data, ctx.dirs.ignore)
            old = previous.get(sub.student)
            kept = old and sub.path is None and sub.folder is None
            if kept or not force and old and old["content_hash"] == chash and old["status"] not in RETRIED:
                # unchanged, or on the roster but not in this upload (a zip of late work): keep the grade
                rows[sub.student], skipped = old, skipped + 1
                if feedback:
                    recorder.write_feedback(sub.student, old)
            elif data is None:
                where = f"{sub.folder}/{spec.notebook}.ipynb" if sub.folder else f"{sub.student}.ipynb"
                result = GradeResult(sub.student, assignment, "missing", f"no notebook submitted ({where})",
                                     0.0, spec.max_score, cell_outcomes(None, spec))
                rows[sub.student] = recorder.record(sub, result, chash)
            else:
                todo.append((sub, chash))
        hashes = {sub.student: chash for sub, chash in todo}
        bar = None
        if progress and todo:
            from tqdm import tqdm
            bar = tqdm(total=len(todo), desc=f"grading {assignment}", unit="nb", file=sys.stderr)

        def on_result(sub, result):
            rows[sub.student] = recorder.record(sub, result, hashes[sub.student])
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(f"{sub.student}: {result.status}", refresh=False)

        if todo:
            pool = WorkerPool(min(int(workers), len(todo)), ctx, spec, limits, sandbox)
            try:
                pool.run([sub for sub, _ in todo], on_result)
            finally:
                pool.close()
                if bar is not None:
                    bar.close()
        ordered = [rows[s] for s in sorted(rows)]
        csv_paths = write_csvs(output or ctx.root / "grades.csv", ordered)
        text = summary(assignment, ordered, len(todo), skipped, ignored, csv_paths)
        return ClassReport(ordered, len(todo), skipped, ignored, csv_paths, text)
    finally:
        table.close()
