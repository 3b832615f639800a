"""Grade a whole class: find the submissions, skip those graded before and unchanged, run the
rest in long-lived worker processes (``pool.py``), and record every result from this process
alone (one writer, ``store.py``) into nbgrader's gradebook.

Near-copies of the answer key or between students are flagged (``similarity.py``) over every
submission found, whichever shard is graded, and reported in the summary and CSV, never scored.

Durability: each submission's files (``autograded/``, ``feedback/``) are written first and its
row in the table ``mlcourse_grading`` (content hash, status, reason, per-cell outcomes) last,
in the gradebook database itself. nbgrader's own rows are updated in place (one per student
and cell), so a run killed at any moment and started again regrades exactly the submissions
whose row is missing or stale, and every grade ends up present once.
"""
import logging
import sys

from nbgrader.api import Gradebook

from ..course import Course
from ..errors import BadInput
from .grader import course_limits, ensure_sandbox
from .outcome import RETRIED, unrun
from .pool import WorkerPool
from .report import ClassReport, summary, write_csvs
from .shard import in_shard, resolve_shard
from .similarity import answer_text, class_flags
from .spec import AssignmentSpec, gradebook_lock, register_assignment
from .store import Recorder, ResultsTable, content_hash
from .submission import Submission, find_submissions

log = logging.getLogger(__name__)


def grade_class(assignment, *, course=None, submissions=None, workers=1, timeout=None, memory=None, db=None,
                shard=None, feedback=False, output=None, sandbox=True, force=False, progress=True):
    """Grade every submission of ``assignment`` (see ``mlcourse grade --help``) and return a
    ``ClassReport``. Refuses (``SandboxUnavailable``) when the sandbox cannot start, unless
    ``sandbox=False``."""
    if int(workers) < 1:
        raise BadInput(f"--workers must be at least 1, got {workers}")
    shard = resolve_shard(shard)
    ctx = Course(course, db)
    limits = course_limits(ctx, timeout, memory)
    ensure_sandbox(limits, sandbox)
    if register_assignment(ctx, assignment):
        log.info("%s: registered in the gradebook from %s", assignment, ctx.source_folder(assignment))
    with gradebook_lock(ctx.db_url):
        table = ResultsTable(ctx.db_url)
    try:
        specs = AssignmentSpec.load_all(ctx, assignment)
        names = [spec.notebook for spec in specs]
        subs, ignored = find_submissions(ctx, assignment, names, submissions)
        previous = table.rows(assignment)
        with Gradebook(ctx.db_url, ctx.dirs.course_id) as gb:
            roster = {s.id for s in gb.students} | set(previous)
        subs += [Submission(s) for s in sorted(roster - {s.student for s in subs})]
        contents = {sub.student: [sub.read(name if len(names) > 1 else None) for name in names] for sub in subs}
        flags = class_flags(ctx, specs, {s: "\n\n".join(answer_text(d) for d in datas if d is not None)
                                         for s, datas in contents.items() if any(d is not None for d in datas)})
        with gradebook_lock(ctx.db_url):  # every shard finds the same flags: the whole class's
            table.save_flags(assignment, flags)
        subs = [s for s in subs if in_shard(s.student, shard)]
        recorder = Recorder(ctx, specs, table, feedback, {s: r["content_hash"] for s, r in previous.items()})
        todo, rows, skipped = [], {}, 0
        for sub in subs:
            datas = contents[sub.student]
            chash = content_hash(sub, specs, datas, ctx.dirs.ignore)
            old = previous.get(sub.student)
            kept = old and sub.path is None and sub.folder is None
            if kept or not force and old and old["content_hash"] == chash and old["status"] not in RETRIED:
                # unchanged, or on the roster but not in this upload (a zip of late work): keep the grade
                rows[sub.student], skipped = old, skipped + 1
                if feedback:
                    recorder.write_feedback(sub.student, old)
            elif all(d is None for d in datas):
                where = " or ".join(f"{sub.folder}/{name}.ipynb" if sub.folder else f"{sub.student}.ipynb"
                                    for name in names)
                missing = [unrun(sub.student, spec, "missing", f"no notebook submitted ({where})") for spec in specs]
                rows[sub.student] = recorder.record(sub, missing, chash)
            else:
                todo.append((sub, chash))
        hashes = {sub.student: chash for sub, chash in todo}
        log.info("%s: %d to grade, %d unchanged since the last run%s", assignment, len(todo), skipped,
                 f", shard {shard[0]}/{shard[1]}" if shard else "")
        bar = None
        if progress and todo:
            from tqdm import tqdm
            bar = tqdm(total=len(todo), desc=f"grading {assignment}", unit="nb", file=sys.stderr)

        def on_result(sub, results):
            rows[sub.student] = recorder.record(sub, results, hashes[sub.student])
            if rows[sub.student]["status"] in RETRIED:
                log.warning("%s: %s (graded again on the next run)", sub.student, rows[sub.student]["reason"])
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(f"{sub.student}: {rows[sub.student]['status']}", refresh=False)

        if todo:
            pool = WorkerPool(min(int(workers), len(todo)), ctx, specs, limits, sandbox)
            try:
                pool.run([sub for sub, _ in todo], on_result)
            finally:
                pool.close()
                if bar is not None:
                    bar.close()
        ordered = [rows[s] for s in sorted(rows)]
        flags = [f for f in flags if f.student in rows]
        csv_paths = write_csvs(output or ctx.root / "grades.csv", ordered, flags)
        text = summary(assignment, ordered, len(todo), skipped, ignored, csv_paths, flags)
        return ClassReport(ordered, len(todo), skipped, ignored, csv_paths, text, flags)
    finally:
        table.close()
