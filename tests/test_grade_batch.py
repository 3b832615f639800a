"""``mlcourse grade`` end to end on the SVM exercise, with the real nbgrader engine and sandbox:
scores identical to sequential ``nbgrader autograde``; a grading run killed with SIGKILL and
resumed; the one-notebook Python API; CPU and memory limits (the hostile class is in
test_grade_hostile.py)."""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from mlcourse.course import CourseContext
from mlcourse.grading import autograde, grade_class
from mlcourse.grading.grader import Grader
from mlcourse.grading.sandbox import Limits
from mlcourse.grading.spec import AssignmentSpec
from mlcourse.release import tool_env
from tests.course import ROOT, SANDBOX_GRADING, apply_mistake, assert_visible_tests_catch_most_mistakes, graded_cases, independent_solutions, write_zip, wrong_answers
from tests.svm_course import A, Clone, base, gradebook_scores, prepend  # noqa: F401 (base: fixture)

pytestmark = [
    pytest.mark.slow,
    SANDBOX_GRADING,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed (`make system-deps`)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox drops student code to a spare uid, which needs root"),
]



def test_scores_match_sequential_nbgrader(base, tmp_path):
    """The expectations of graded_cases are the scores plain nbgrader gives these notebooks
    (test_exercises.py::test_autograde_scores grades the same cases with it), so meeting them
    here is meeting nbgrader, without grading the class twice."""
    course = Clone(base, tmp_path / "course")
    cases = graded_cases(course)
    notebooks = {student: nb for _, student, nb, _ in cases}
    expected = {student: points for _, student, _, points in cases}
    independent = independent_solutions(course.released)
    conceptual = course.conceptual_checks()  # the independent authors answered no question
    for student, nb in independent.items():  # full marks on the functions they wrote, and no copies
        notebooks[student] = nb
        expected[student] = {c: expected["released" if c in conceptual else "solution"][c] for c in expected["solution"]}
    chinese = {"zh_solution": (nbformat.read(course.path / "zh_CN" / "solutions" / A / f"{A}.ipynb", 4), "solution"),
               "zh_released": (nbformat.read(ROOT / "zh_CN" / "exercises" / A / f"{A}.ipynb", 4), "released")}
    chinese["zh_mistake00"] = (apply_mistake(chinese["zh_solution"][0], wrong_answers(A)[0]), "mistake00")
    for student, (nb, twin) in chinese.items():  # the same code in the Chinese notebook: the same points
        notebooks[student], expected[student] = nb, expected[twin]

    ours = f"sqlite:///{tmp_path}/ours.db"  # the notebooks as an LMS zip, into a fresh gradebook
    report = grade_class(A, course=course.path, submissions=write_zip(tmp_path / "lms.zip", notebooks),
                         workers=2, db=ours, output=tmp_path / "grades.csv", progress=False, feedback=True)
    assert gradebook_scores(ours, notebooks) == expected
    feedback = {s: (course.path / "feedback" / s / A / f"{A}.html").read_text() for s in ("mistake00", "zh_mistake00")}
    score = f"{sum(expected['mistake00'].values()):g} / {sum(course.max_points().values()):g}"
    assert f"Score: {score}" in feedback["mistake00"] and "entries differ" in feedback["mistake00"]
    assert f"得分：{score}" in feedback["zh_mistake00"] and "个元素中有" in feedback["zh_mistake00"], feedback["zh_mistake00"]
    assert "书中算例" in feedback["zh_mistake00"] and "entries differ" not in feedback["zh_mistake00"]
    rows = {r["student"]: r for r in report.rows}
    for student, cells in expected.items():
        assert rows[student]["score"] == sum(cells.values())
        assert {c["name"]: c["points"] for c in json.loads(rows[student]["cells"])} == cells
    assert rows["solution"]["status"] == "graded" and rows["solution"]["reason"] == ""
    assert_visible_tests_catch_most_mistakes(course, cases, rows)
    lines = (tmp_path / "grades.csv").read_text().splitlines()
    assert lines[0] == "student,score,max_score,status,reason,similar_to,trust" and len(lines) == len(notebooks) + 1
    assert all(line.endswith(",judged") for line in lines[1:]) and "test cells judged in the grader's" in report.text
    flagged = {f.student for f in report.flags}
    assert "the answer key" in {f.other for f in report.flags if f.student == "solution"}
    assert flagged.isdisjoint(independent) and "released" not in flagged
    assert "near-copies in the answer cells" in report.text and "solution,10.0,14.0,graded,," not in lines
    assert len((tmp_path / "grades_cells.csv").read_text().splitlines()) == len(course.max_points()) * len(notebooks) + 1

    upload = tmp_path / "upload"
    upload.mkdir()
    nbformat.write(notebooks["mistake00"], upload / "mistake00.ipynb")
    one = autograde(upload / "mistake00.ipynb", A, course=course.path, db=ours)
    assert {c.name: c.points for c in one.cells} == expected["mistake00"]
    assert (one.score, one.max_score) == (sum(expected["mistake00"].values()), 14.0)


def descendants(pid):
    children = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def graded_count(course):
    try:
        with sqlite3.connect(course.path / "gradebook.db", timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM mlcourse_grading").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_killed_run_resumes_with_every_grade_once(base, tmp_path):
    course = Clone(base, tmp_path / "course")
    cases = graded_cases(course)[:5]
    for _, student, nb, _ in cases:
        course.submit(student, nb)
    notebooks = {student: expected for _, student, _, expected in cases}
    grader = subprocess.Popen([sys.executable, "-m", "mlcourse", "grade", A, "--course", str(course.path),
                               "--workers", "1", "--quiet"], env=tool_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while graded_count(course) < 1 and time.monotonic() < deadline and grader.poll() is None:
        time.sleep(0.1)
    tree = descendants(grader.pid)
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    done = graded_count(course)
    assert 1 <= done < len(notebooks), "the run should be killed part-way"
    deadline = time.monotonic() + 20
    while any(alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert tree and not any(alive(p) for p in tree), "workers or kernels outlived the killed grader"

    report = grade_class(A, course=course.path, workers=2, progress=False)
    assert (report.skipped, report.ran) == (done, len(notebooks) - done)
    with sqlite3.connect(course.path / "gradebook.db") as db:
        per_student = dict(db.execute("SELECT student, COUNT(*) FROM mlcourse_grading GROUP BY student"))
        submitted = dict(db.execute("SELECT student.id, COUNT(*) FROM submitted_assignment JOIN student "
                                    "ON student.id = submitted_assignment.student_id GROUP BY student.id"))
        grades = db.execute("SELECT COUNT(*) FROM grade").fetchone()[0]
    assert per_student == submitted == {s: 1 for s in notebooks}
    assert grades == len(course.max_points()) * len(notebooks)
    assert gradebook_scores(course.db, notebooks) == notebooks
    assert not list((course.path / "autograded").glob("*/.*partial*")), "half-written results were left behind"
    assert not [d for d in Path("/tmp").glob("mlg-*") if d.stat().st_uid != 0], "run folders of killed workers remain"


def test_api_grades_one_notebook_and_records_nothing(base, tmp_path):
    course = Clone(base, tmp_path / "course")
    (course.path / "gradebook.db").unlink()  # no gradebook yet: the API builds a temporary one
    path = tmp_path / "ann.ipynb"
    calls_reference = next(m for m in wrong_answers(A) if m["name"] == "vectorized loss calls the reference")
    nbformat.write(apply_mistake(course.solution, calls_reference), path)
    result = autograde(path, A, course=course.path, timeout=60)
    assert (result.student, result.status, result.score, result.max_score) == ("ann", "graded", 7.0, 14.0)
    assert [(c.name, c.points, c.outcome) for c in result.cells] == [
        ("test_svm_loss_naive", 3.0, "passed"), ("test_answer_correct_score_gradient", 1.0, "passed"),
        ("written_kinks", 0.0, "manual"), ("test_svm_loss_vectorized", 0.0, "failed"), ("test_sgd_step", 2.0, "passed"),
        ("test_answer_svm_initial_loss", 1.0, "passed"), ("written_margin", 0.0, "manual")]
    assert result.cells[3].where == "visible" and result.reason.startswith("lost points: test_svm_loss_vectorized failed")
    assert "written" not in result.reason, "a written answer awaiting its grade is not a lost point"
    # the visible integrity check reports it before the kernel is asked to call the reference (which the
    # sandbox does not hold: test_judge.py's helper-calls-reference gets "No module named 'mlcourse.scratch'")
    assert "svm_loss_vectorized uses the mlcourse package" in result.cells[3].message
    assert not (course.path / "gradebook.db").exists() and not (course.path / "autograded").exists()


def test_cpu_time_limit_stops_a_notebook(base):
    ctx = CourseContext(base.path)
    grader = Grader(ctx, AssignmentSpec.load(ctx, A), Limits(timeout=120, cpu_seconds=8))
    try:
        spinning = prepend(base.solution, "sgd_step", "    while True:\n        pass\n")
        result = grader.grade(nbformat.writes(spinning).encode(), "spinner")
    finally:
        grader.close()
    assert (result.status, result.score) == ("cpu-limit", 7.0)
    assert "CPU-time limit of 8 s reached in cell test_sgd_step" in result.reason


def test_memory_kept_by_a_global_stops_the_kernel(base):
    """A notebook that keeps its memory hog in a global is stopped after the MemoryError, and the
    grade says why (a hog kept only by the failed cell's traceback is freed: test_hostile_class)."""
    ctx = CourseContext(base.path)
    grader = Grader(ctx, AssignmentSpec.load(ctx, A), Limits(timeout=60, memory_mb=512))
    try:
        hoarder = prepend(base.solution, "svm_loss_naive",
                          "    global HOG\n    HOG = []\n    while True:\n        HOG.append(bytearray(10**7))\n")
        result = grader.grade(nbformat.writes(hoarder).encode(), "hoarder")
    finally:
        grader.close()
    assert (result.status, result.score) == ("memory-limit", 0.0)
    assert [c.outcome for c in result.cells] == ["failed", "not-run", "manual", "not-run", "not-run", "not-run", "manual"]
    for words in ["ran out of memory (limit 512 MB per process) in cell test_svm_loss_naive", "still held",
                  "a global", "the kernel was stopped; later cells were not run"]:
        assert words in result.reason, (words, result.reason)
