"""Recording results, in the grading run's own process only: autograded files, nbgrader's
gradebook rows, feedback, and last each submission's row of ``mlcourse_grading`` (its content
hash, status, reason and per-cell outcomes), so that a killed run resumes where it stopped.

``Recorder._write_gradebook`` mirrors the student and submission rows nbgrader's ``Autograde``
converter writes before running ``SaveAutoGrades`` and ``AssignLatePenalties``."""
import dataclasses
import datetime
import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy import (Column, DateTime, Float, MetaData, String, Table, Text, create_engine, delete, insert,
                        inspect, select, text)
from sqlalchemy.exc import SAWarning

from ..atomic import atomic_open, replace_dir
from .execute import _resources, pipeline, stage_files
from .outcome import RETRIED, TRUST_IN_KERNEL, TRUST_JUDGED, cell_outcomes, most_severe


GRADER_VERSION = "1"  # part of the content hash: bump it when a change must regrade everything
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
    Column("trust", String(16)),  # TRUST_JUDGED or TRUST_IN_KERNEL
)
SIMILARITY = Table(  # the near-copies of the whole class, as the last run found them
    "mlcourse_similarity", METADATA,
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("other", String(128), primary_key=True),
    Column("similarity", Float, nullable=False),
    Column("mine", Text, nullable=False),
    Column("theirs", Text, nullable=False),
)


def content_hash(submission, specs, datas, ignore):
    """What a grade depends on: the notebooks (``datas``, one per spec), the other files beside
    them (timestamp included), the assignment's cells and points, and the grader's version."""
    digest = hashlib.sha256(GRADER_VERSION.encode())
    for spec, data in zip(specs, datas):
        digest.update(f"\0{spec.notebook}\0{spec.fingerprint}\0".encode())
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
        if "trust" not in {c["name"] for c in inspect(self.engine).get_columns("mlcourse_grading")}:
            with self.engine.begin() as conn:  # a gradebook of a grader before the column existed
                conn.execute(text("ALTER TABLE mlcourse_grading ADD COLUMN trust VARCHAR(16)"))

    def rows(self, assignment):
        with self.engine.connect() as conn:
            found = conn.execute(select(RESULTS).where(RESULTS.c.assignment == assignment)).mappings()
            return {row["student"]: dict(row) for row in found}

    def save(self, row):
        key = (RESULTS.c.assignment == row["assignment"]) & (RESULTS.c.student == row["student"])
        with self.engine.begin() as conn:  # one transaction: the row is replaced, never doubled
            conn.execute(delete(RESULTS).where(key))
            conn.execute(insert(RESULTS).values(**row))

    def save_flags(self, assignment, flags):
        """Replace ``assignment``'s near-copies with ``flags`` (one transaction)."""
        with self.engine.begin() as conn:
            conn.execute(delete(SIMILARITY).where(SIMILARITY.c.assignment == assignment))
            if flags:
                conn.execute(insert(SIMILARITY), [dict(assignment=assignment, student=f.student, other=f.other,
                                                       similarity=f.similarity, mine=f.mine, theirs=f.theirs)
                                                  for f in flags])

    def flags(self, assignment):
        """``assignment``'s near-copies (``similarity.Flag``), most similar first."""
        from .similarity import Flag

        with self.engine.connect() as conn:
            found = conn.execute(select(SIMILARITY).where(SIMILARITY.c.assignment == assignment)).mappings()
            flags = [Flag(r["student"], r["other"], r["similarity"], r["mine"], r["theirs"]) for r in found]
        return sorted(flags, key=lambda f: (-f.similarity, f.student, f.other))

    def close(self):
        self.engine.dispose()


def _write_text(path, text):
    with atomic_open(path, "w") as f:
        f.write(text)


def with_gradebook_scores(db_url, course_id, assignment, rows):
    """``rows`` ({student: row}) with each graded submission's score as nbgrader's gradebook has
    it now (minus its late penalty), so that grades given by hand in the formgrader after
    grading count; rows of failed grading and of students with no submission recorded are kept."""
    engine = create_engine(db_url)
    try:
        if not inspect(engine).has_table("submitted_assignment"):
            return rows
    finally:
        engine.dispose()
    out = dict(rows)
    with warnings.catch_warnings(), Gradebook(db_url, course_id) as gb:
        warnings.simplefilter("ignore", SAWarning)
        for student, row in rows.items():
            if row["status"] in RETRIED:
                continue
            try:
                found = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            out[student] = dict(row, score=round(float(found.score) - float(found.late_submission_penalty or 0.0), 6))
    return out


def _part_row(row, notebook, notebooks):
    """The row of ``notebook``, one of the ``notebooks`` of an assignment: its cells (by their own
    names) and its part of the reason (parts are ``name: reason``, joined by "; ", in order)."""
    cells = [dict(c, name=c["name"].split("/", 1)[1]) for c in json.loads(row["cells"]) if c.get("notebook") == notebook]
    reason, start = row["reason"], row["reason"].find(f"{notebook}: ")
    if start == 0 or start > 0 and reason[:start].endswith("; "):
        ends = [reason.find(f"; {other}: ", start) for other in notebooks[notebooks.index(notebook) + 1:]]
        end = min([e for e in ends if e >= 0], default=len(reason))
        reason = reason[start + len(notebook) + 2:end]
    else:
        reason = ""
    return dict(row, cells=json.dumps(cells), score=sum(c["points"] for c in cells), reason=reason,
                max_score=sum(c["max_points"] for c in cells))


def _reviews(gb, spec, student):
    """{written answer: needs_manual_grade} of the answers an instructor has graded already."""
    try:
        graded = gb.find_submission_notebook(spec.notebook, spec.assignment, student)
    except MissingEntry:
        return {}
    return {g.name: bool(g.needs_manual_grade) for g in graded.grades if g.manual_score is not None}


class Recorder:
    """Writes each result, in this process only: autograded files, nbgrader's gradebook
    (student, submission, nbgrader's SaveAutoGrades and AssignLatePenalties), feedback, and
    last the row of ``mlcourse_grading``. ``specs``: one per notebook of the assignment."""

    def __init__(self, ctx, specs, table, feedback=False, graded_hashes=None):
        self.ctx, self.specs, self.table, self.feedback = ctx, specs, table, feedback
        self.assignment = specs[0].assignment
        self.config = ctx.grading_config
        self.graded_hashes = graded_hashes or {}  # {student: content hash of the work graded last}

    def autograded(self, student):
        return self.ctx.folder(self.ctx.dirs.autograded_directory, student, self.assignment)

    def feedback_file(self, student, spec):
        folder = self.ctx.folder(self.ctx.dirs.feedback_directory, student, self.assignment)
        return folder / f"{spec.notebook}.html"

    def _write_autograded(self, submission, notebooks):
        dest = self.autograded(submission.student)
        if all(nb is None for nb in notebooks.values()):
            shutil.rmtree(dest, ignore_errors=True)  # no stale notebook of an earlier submission
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        staged = dest.parent / f".{dest.name}.partial-{os.getpid()}"
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir()
        stage_files(staged, submission.folder, self.ctx.source_folder(self.assignment), self.ctx.dirs.ignore)
        if submission.folder and (Path(submission.folder) / "timestamp.txt").exists():
            shutil.copy(Path(submission.folder) / "timestamp.txt", staged)
        for name, nb in notebooks.items():
            if nb is not None:
                nbformat.write(nb, staged / f"{name}.ipynb")
        replace_dir(staged, dest)

    def _write_gradebook(self, submission, spec, result, unchanged=False):
        """Save the scores to nbgrader's gradebook; ({cell: points}, the written answers awaiting a
        manual grade, the notebook's score). A manual grade stays (nbgrader keeps it); when the work
        is what was graded before (``unchanged``), its review flag stays too, where nbgrader would
        ask for it again."""
        student = submission.student
        timestamp = self.ctx.dirs.get_existing_timestamp(submission.folder) if submission.folder else None
        with Gradebook(self.ctx.db_url, self.ctx.dirs.course_id) as gb:
            reviews = _reviews(gb, spec, student) if unchanged else {}
            gb.update_or_create_student(student)
            if timestamp:
                gb.update_or_create_submission(spec.assignment, student, timestamp=timestamp)
            else:
                gb.update_or_create_submission(spec.assignment, student)
        if result.notebook is not None:
            resources = _resources(spec, student, self.ctx)
            nb = result.notebook
            for pp in pipeline(self.config).record:
                nb, resources = pp(config=self.config)(nb, resources)
        present = {c.metadata["nbgrader"]["grade_id"] for c in result.notebook.cells
                   if utils.is_grade(c)} if result.notebook is not None else set()
        with Gradebook(self.ctx.db_url, self.ctx.dirs.course_id) as gb:
            graded = gb.find_submission_notebook(spec.notebook, spec.assignment, student)
            for grade in graded.grades:
                if grade.name not in present:  # deleted test cell or unreadable notebook: zero, not stale
                    grade.auto_score, grade.needs_manual_grade = 0.0, False
                elif grade.name in reviews and grade.auto_score is None and grade.manual_score is not None:
                    grade.needs_manual_grade = reviews[grade.name]
            gb.db.commit()
            points = {g.name: float(g.score) for g in graded.grades}
            awaiting = {g.name for g in graded.grades if g.needs_manual_grade}
            score = float(graded.score) - float(graded.late_submission_penalty or 0.0)
        return points, awaiting, score

    def record(self, submission, results, chash):
        """Record one submission's results (one per notebook, as ``specs``); returns its row."""
        several = len(self.specs) > 1
        ran = any(r.status not in RETRIED | {"missing"} for r in results)
        if ran:
            self._write_autograded(submission, {s.notebook: r.notebook for s, r in zip(self.specs, results)})
        cells, score = [], 0.0
        for spec, result in zip(self.specs, results):
            part, part_score = result.cells, result.score
            if ran and result.status not in RETRIED:
                with warnings.catch_warnings():  # nbgrader's own session warnings, harmless and noisy
                    warnings.simplefilter("ignore", SAWarning)
                    points, awaiting, part_score = self._write_gradebook(
                        submission, spec, result, unchanged=self.graded_hashes.get(submission.student) == chash)
                part = cell_outcomes(result.notebook, spec, points, awaiting)
            if several:
                part = [dataclasses.replace(c, name=f"{spec.notebook}/{c.name}", notebook=spec.notebook) for c in part]
            cells += part
            score += part_score
        status = most_severe([r.status for r in results])
        reasons = [f"{s.notebook}: {r.reason}" if several else r.reason for s, r in zip(self.specs, results) if r.reason]
        row = dict(assignment=self.assignment, student=submission.student, content_hash=chash,
                   status=status, reason="; ".join(reasons), score=round(score, 6),
                   max_score=sum(s.max_score for s in self.specs),
                   cells=json.dumps([dataclasses.asdict(c) for c in cells]),
                   run_seconds=round(sum(r.run_seconds for r in results), 3),
                   graded_at=datetime.datetime.now(datetime.timezone.utc),
                   trust=TRUST_IN_KERNEL if any(s.judged is None for s in self.specs) else TRUST_JUDGED)
        if self.feedback:
            self.write_feedback(submission.student, row, [r.notebook for r in results])
        self.table.save(row)
        return row

    def write_feedback(self, student, row, notebooks=None):
        """feedback/<student>/<assignment>/<notebook>.html for each notebook."""
        from .feedback import render_feedback

        for i, spec in enumerate(self.specs):
            nb = notebooks[i] if notebooks else None
            if nb is None and row["status"] not in RETRIED | {"missing", "invalid", "wrong-assignment"}:
                path = self.autograded(student) / f"{spec.notebook}.ipynb"
                nb = nbformat.read(path, as_version=4) if path.exists() else None
            part = _part_row(row, spec.notebook, [s.notebook for s in self.specs]) if len(self.specs) > 1 else row
            _write_text(self.feedback_file(student, spec), render_feedback(spec, student, part, nb))
