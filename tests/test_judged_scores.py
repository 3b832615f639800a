"""Every assignment graded by ``mlcourse grade``, its test cells judged outside the student's
kernel: the solution, the released notebook and every realistic mistake score the expectations
of ``graded_cases`` (which test_exercises.py::test_autograde_scores checks with plain nbgrader for
the solution and the released notebook). 02_svm's are checked against sequential nbgrader in
test_grade_batch.py::test_scores_match_sequential_nbgrader."""
import json
import os
import shutil

import pytest

from tests.course import SANDBOX_GRADING, Course, assert_visible_tests_catch_most_mistakes, graded_cases, write_zip
from mlcourse.grading import grade_class
from mlcourse.release import assignments

pytestmark = [
    pytest.mark.slow,
    SANDBOX_GRADING,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed (`make system-deps`)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox drops student code to a spare uid, which needs root"),
]


@pytest.mark.parametrize("assignment", [a for a in assignments() if a != "02_svm"])
def test_judged_scores_are_nbgraders(assignment, tmp_path):
    (tmp_path / "course").mkdir()
    course = Course(tmp_path / "course", assignment)
    assert course.solution.metadata["mlcourse"]["judge"] == "outside"
    cases = graded_cases(course)
    notebooks = {student: nb for _, student, nb, _ in cases}
    report = grade_class(assignment, course=course.path, submissions=write_zip(tmp_path / "class.zip", notebooks),
                         workers=2, output=tmp_path / "grades.csv", progress=False)
    rows = {r["student"]: r for r in report.rows}
    failures = []
    for label, student, _, expected in cases:
        got = {c["name"]: c["points"] for c in json.loads(rows[student]["cells"])}
        if got != expected or rows[student]["status"] != "graded":
            failures.append(f"{label}: expected {expected}, got {got} ({rows[student]['status']}: "
                            f"{rows[student]['reason'][:300]})")
    assert not failures, "\n".join(failures)

    assert_visible_tests_catch_most_mistakes(course, cases, rows)
