"""Any nbgrader course, not only this one: an assignment of two notebooks whose test cells are
plain nbgrader asserts (not the judged format) gets the scores plain ``nbgrader autograde`` gives,
per notebook and cell, one submission per student, and is labelled as run with in-kernel trust."""
import json
import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.api import Gradebook

from tests.course import SANDBOX_GRADING
from mlcourse.grading import grade_class
from mlcourse.grading.class_report import build_report
from mlcourse.grading.export import export_grades
from mlcourse.release import nbgrader

pytestmark = [pytest.mark.slow, SANDBOX_GRADING,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed (`make system-deps`)")]

A = "hw"
CONFIG = 'c = get_config()\nc.CourseDirectory.course_id = "demo"\nc.Execute.timeout = 60\n'
PARTS = {  # notebook: [(answer id, answer, test id, points, visible test, hidden test)]
    "part1": [("double", "def double(x):\n    return 2 * x", "test_double", 2, "assert double(2) == 4",
               "assert double(-3) == -6")],
    "part2": [("square", "def square(x):\n    return x * x", "test_square", 3, "assert square(3) == 9",
               "assert square(-2) == 4"),
              ("halve", "def halve(x):\n    return x / 2", "test_halve", 1, "assert halve(4) == 2",
               "assert halve(1) == 0.5")],
}


def meta(grade_id, *, solution=False, points=None):
    data = {"grade_id": grade_id, "solution": solution, "grade": points is not None, "locked": not solution,
            "schema_version": 3}
    return {"nbgrader": {**data, "points": points} if points is not None else data}


def source_notebook(part):
    cells = [new_markdown_cell(f"# {part}", metadata=meta(f"{part}_intro"))]
    for answer_id, answer, test_id, points, visible, hidden in PARTS[part]:
        head, body = answer.split("\n", 1)
        cells.append(new_code_cell(f"{head}\n    ### BEGIN SOLUTION\n{body}\n    ### END SOLUTION",
                                   metadata=meta(answer_id, solution=True)))
        cells.append(new_code_cell(f"{visible}\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS",
                                   metadata=meta(test_id, points=points)))
    if part == "part2":  # a written answer, graded by hand in nbgrader's formgrader
        cells.append(new_markdown_cell("Halving needs true division, so `x / 2`.",
                                       metadata=meta("why", solution=True, points=1)))
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def submission(part, **edits):
    nb = source_notebook(part)
    for cell in nb.cells:
        for old, new in edits.items():
            cell.source = cell.source.replace(old, new)
    return nb


STUDENTS = {  # student: {notebook: submitted notebook}; a notebook left out was not handed in
    "ann": {"part1": submission("part1"), "part2": submission("part2")},
    "bob": {"part1": submission("part1", **{"return 2 * x": "return x + 2"}),  # passes the visible test only
            "part2": submission("part2", **{"return x / 2": "return x // 2"})},
    "cy": {"part1": submission("part1")},
}


def make_course(folder):
    folder.mkdir()
    (folder / "nbgrader_config.py").write_text(CONFIG)
    for part in PARTS:
        (folder / "source" / A).mkdir(parents=True, exist_ok=True)
        nbformat.write(source_notebook(part), folder / "source" / A / f"{part}.ipynb")
    for student, notebooks in STUDENTS.items():
        (folder / "submitted" / student / A).mkdir(parents=True)
        for part, nb in notebooks.items():
            nbformat.write(nb, folder / "submitted" / student / A / f"{part}.ipynb")
    return folder


def gradebook_points(db):
    with Gradebook(db, "demo") as gb:
        return {(s, part): {g.name: float(g.score) for g in gb.find_submission_notebook(part, A, s).grades}
                for s in STUDENTS for part in PARTS}


def test_a_two_notebook_assignment_scores_as_plain_nbgrader(tmp_path):
    plain = make_course(tmp_path / "plain")
    nbgrader(["generate_assignment", A, "--db", f"sqlite:///{plain}/gradebook.db"], cwd=plain)
    nbgrader(["autograde", A, "--db", f"sqlite:///{plain}/gradebook.db"], cwd=plain)
    expected = gradebook_points(f"sqlite:///{plain}/gradebook.db")
    assert expected[("bob", "part1")] == {"test_double": 0.0} and expected[("cy", "part2")] == {
        "test_square": 0.0, "test_halve": 0.0, "why": 0.0}

    ours = make_course(tmp_path / "ours")
    report = grade_class(A, course=ours, workers=2, feedback=True, progress=False)
    assert gradebook_points(f"sqlite:///{ours}/gradebook.db") == expected
    rows = {r["student"]: r for r in report.rows}
    for student in STUDENTS:
        points = {f"{part}/{name}": p for part in PARTS for name, p in expected[(student, part)].items()}
        cells = json.loads(rows[student]["cells"])
        assert {c["name"]: c["points"] for c in cells} == points, student
        assert rows[student]["score"] == sum(points.values()) and rows[student]["max_score"] == 7.0
        assert rows[student]["trust"] == "in-kernel"
    assert rows["ann"]["status"] == "graded" and rows["cy"]["status"] == "missing"
    assert "part2: no notebook part2.ipynb submitted" in rows["cy"]["reason"]
    assert "in-kernel trust" in report.text
    assert all(line.endswith(",in-kernel") for line in report.csv_paths[0].read_text().splitlines()[1:])
    for part in PARTS:  # feedback per notebook, each with its own cells
        page = (ours / "feedback" / "bob" / A / f"{part}.html").read_text()
        assert ("test_double" in page) == (part == "part1") and ("test_halve" in page) == (part == "part2")
    with Gradebook(f"sqlite:///{ours}/gradebook.db", "demo") as gb:  # the instructor grades ann's answer
        grade = gb.find_grade("why", "part2", A, "ann")
        grade.manual_score, grade.needs_manual_grade = 1.0, False
        gb.db.commit()
    page = build_report(A, course=ours).read_text()  # the report and the exports read it like any other
    assert "part2/test_halve" in page and "in-kernel" in page
    assert '<td>part2/why</td><td class="num">1</td><td class="num">1</td>' in page  # bob's awaits, ann's done
    export = export_grades(A, "csv", output=tmp_path / "grades.csv", course=ours)
    assert export.path.read_text().splitlines()[1:] == [
        "ann,7,7,100,graded", "bob,3,7,42.86,graded", "cy,2,7,28.57,missing"]  # with ann's manual grade
    assert "written answers awaiting a manual grade: 2" in report.text  # ann's and bob's, before grading
    again = grade_class(A, course=ours, progress=False)
    assert (again.ran, again.skipped) == (0, len(STUDENTS))
    forced = grade_class(A, course=ours, force=True, progress=False)  # a regrade keeps the grade given by hand
    assert forced.ran == len(STUDENTS) and "written answers awaiting a manual grade: 1" in forced.text
    with Gradebook(f"sqlite:///{ours}/gradebook.db", "demo") as gb:
        grade = gb.find_grade("why", "part2", A, "ann")
        assert (grade.manual_score, grade.needs_manual_grade, grade.score) == (1.0, False, 1.0)
    ann = {c["name"]: c for c in json.loads({r["student"]: r for r in forced.rows}["ann"]["cells"])}
    assert ann["part2/why"]["points"] == 1.0 and ann["part2/why"]["message"] == "graded by hand"
    with pytest.raises(ValueError, match="has 2 notebooks"):
        grade_class(A, course=ours, submissions=ours / "submitted" / "ann" / A, progress=False)
