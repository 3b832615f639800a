"""``mlcourse export``: grades as Canvas's and Moodle's gradebook imports and as plain CSV, matched
to the LMS roster, written whole or not at all; and a late submission graded end to end, whose
nbgrader late penalty reaches the exported file."""
import csv
import datetime
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from tests.course import ROOT, SANDBOX_GRADING, auto_points, cell_points
from mlcourse.grading import export as export_module
from mlcourse.grading.export import export_grades
from mlcourse.grading.store import ResultsTable

A = "02_svm"
CANVAS_ROSTER = [
    ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{A} (4411)", "Quiz 1 (4400)"],
    ["    Points Possible", "", "", "", "", "8.00", "5.00"],
    ["Lovelace, Ada", "101", "S101", "ada", "Lab A", "", "4"],
    ["Bo, Bo", "102", "S102", "bo", "Lab A", "", "5"],
    ["Yu, Cy", "103", "S103", "cy", "Lab B", "", ""],
    ["Student, Test", "999", "", "", "Lab A", "", ""],
]
MOODLE_ROSTER = [
    ["First name", "Last name", "ID number", "Institution", "Department", "Email address",
     f"Assignment: {A} (Real)", "Last downloaded from this course"],
    ["Ada", "Lovelace", "ada", "Uni", "CS", "ada@uni.edu", "-", "1700000000"],
    ["Bo", "Bo", "bo", "Uni", "CS", "bo@uni.edu", "-", "1700000000"],
    ["Cy", "Yu", "cy", "Uni", "CS", "cy@uni.edu", "-", "1700000000"],
]


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


@pytest.fixture
def course(tmp_path):
    """A course folder whose gradebook holds ada 8/8, bo 6.5/8 and dee 0/8 (missing)."""
    folder = tmp_path / "course"
    folder.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", folder)
    table = ResultsTable(f"sqlite:///{folder / 'gradebook.db'}")
    for student, score, status in [("ada", 8.0, "graded"), ("bo", 6.5, "graded"), ("dee", 0.0, "missing")]:
        table.save(dict(assignment=A, student=student, content_hash="x", status=status, reason="", score=score,
                        max_score=8.0, cells="[]", run_seconds=1.0, graded_at=datetime.datetime(2026, 1, 1)))
    table.close()
    return folder


def test_csv_rows_exactly(course):
    result = export_grades(A, "csv", course=course)
    assert result.path == course / f"{A}_csv.csv"
    assert read_csv(result.path) == [["student", "score", "max_score", "percent", "status"],
                                     ["ada", "8", "8", "100", "graded"], ["bo", "6.5", "8", "81.25", "graded"],
                                     ["dee", "0", "8", "0", "missing"]]


def test_canvas_header_points_possible_and_rows(course, tmp_path):
    roster = write_csv(tmp_path / "canvas.csv", CANVAS_ROSTER)
    result = export_grades(A, "canvas", roster=roster, course=course, output=tmp_path / "out.csv",
                           skip_unmatched=True)
    assert read_csv(tmp_path / "out.csv") == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{A} (4411)"],
        ["    Points Possible", "", "", "", "", "8"],
        ["Lovelace, Ada", "101", "S101", "ada", "Lab A", "8"],
        ["Bo, Bo", "102", "S102", "bo", "Lab A", "6.5"],
        ["Yu, Cy", "103", "S103", "cy", "Lab B", ""]]
    assert (result.match_column, result.column, result.written) == ("SIS Login ID", f"{A} (4411)", 2)
    assert result.skipped == ["dee"] and result.ungraded == ["cy"] and result.blank_rows == 1
    assert "skipped 1 graded students not on the roster: dee" in result.text
    assert "roster students have no grade (cell left empty): cy" in result.text


def test_canvas_percent_and_a_new_assignment_column(course, tmp_path):
    roster = write_csv(tmp_path / "canvas.csv", [r[:5] for r in CANVAS_ROSTER[:4]] + [["Di", "104", "", "dee", "B"]])
    export_grades(A, "canvas", roster=roster, course=course, output=tmp_path / "out.csv", percent=True)
    assert read_csv(tmp_path / "out.csv") == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", A],
        ["    Points Possible", "", "", "", "", "100"],
        ["Lovelace, Ada", "101", "S101", "ada", "Lab A", "100"],
        ["Bo, Bo", "102", "S102", "bo", "Lab A", "81.25"],
        ["Di", "104", "", "dee", "B", "0"]]


def test_moodle_rows_and_students_without_grade_left_out(course, tmp_path):
    roster = write_csv(tmp_path / "moodle.csv", MOODLE_ROSTER + [["Dee", "Di", "dee", "Uni", "CS", "dee@uni.edu"]])
    result = export_grades(A, "moodle", roster=roster, course=course, output=tmp_path / "out.csv")
    assert read_csv(tmp_path / "out.csv") == [
        ["First name", "Last name", "ID number", "Email address", f"Assignment: {A} (Real)"],
        ["Ada", "Lovelace", "ada", "ada@uni.edu", "8"],
        ["Bo", "Bo", "bo", "bo@uni.edu", "6.5"],
        ["Dee", "Di", "dee", "dee@uni.edu", "0"]]
    assert result.ungraded == ["cy"] and "(left out of the file): cy" in result.text


def test_moodle_matched_on_email_with_percent(course, tmp_path):
    rows = [["First name", "Last name", "Email address"], ["Ada", "L", "ADA"], ["Bo", "B", "bo"], ["Dee", "D", "dee"]]
    roster = write_csv(tmp_path / "participants.csv", rows)
    result = export_grades(A, "moodle", roster=roster, course=course, output=tmp_path / "out.csv", percent=True)
    assert result.match_column == "Email address"  # no ID number column: the next default
    assert read_csv(tmp_path / "out.csv") == [["First name", "Last name", "Email address", A],
                                              ["Ada", "L", "ADA", "100"], ["Bo", "B", "bo", "81.25"],
                                              ["Dee", "D", "dee", "0"]]


def test_unmatched_students_write_nothing_and_keep_the_previous_file(course, tmp_path):
    roster = write_csv(tmp_path / "canvas.csv", CANVAS_ROSTER)
    out = tmp_path / "out.csv"
    out.write_text("previous export\n")
    with pytest.raises(ValueError) as err:
        export_grades(A, "canvas", roster=roster, course=course, output=out)
    message = str(err.value)
    assert "1 graded students are not in column 'SIS Login ID'" in message and ": dee" in message
    assert "roster students with no grade: cy" in message and "--skip-unmatched" in message
    assert "Student, ID, SIS User ID, SIS Login ID, Section" in message
    assert out.read_text() == "previous export\n" and sorted(p.name for p in tmp_path.iterdir()) == [
        "canvas.csv", "course", "out.csv"]


@pytest.mark.parametrize("fmt, roster, match, expected", [
    ("canvas", None, None, "--format canvas needs --roster"),
    ("canvas", "missing.csv", None, "missing.csv not found"),
    ("moodle", "moodle.csv", "Username", "has no column 'Username'; its columns are: First name, Last name, ID number"),
    ("moodle", "canvas.csv", None, "has none of the columns ID number, Email address, Username"),
    ("blackboard", None, None, "unknown format 'blackboard': choose one of canvas, moodle, csv"),
])
def test_clear_errors(course, tmp_path, fmt, roster, match, expected):
    write_csv(tmp_path / "moodle.csv", MOODLE_ROSTER)
    write_csv(tmp_path / "canvas.csv", CANVAS_ROSTER)
    with pytest.raises(ValueError, match=expected.replace("(", r"\(")):
        export_grades(A, fmt, roster=roster and tmp_path / roster, course=course, match_column=match,
                      output=tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_failed_grading_duplicates_and_encoding(course, tmp_path):
    table = ResultsTable(f"sqlite:///{course / 'gradebook.db'}")
    table.save(dict(assignment=A, student="eve", content_hash="x", status="error", reason="worker died", score=0.0,
                    max_score=8.0, cells="[]", run_seconds=1.0, graded_at=datetime.datetime(2026, 1, 1)))
    table.close()
    result = export_grades(A, "csv", course=course, output=tmp_path / "out.csv")
    assert read_csv(tmp_path / "out.csv")[-1] == ["eve", "", "8", "", "error"] and result.written == 3
    assert "grading failed for eve (no grade written): run `mlcourse grade` again" in result.text
    twice = write_csv(tmp_path / "twice.csv", MOODLE_ROSTER + [["Bob", "B", "BO", "Uni", "CS", "bob@uni.edu"]])
    with pytest.raises(ValueError, match="lists 'BO' twice in column 'ID number'"):
        export_grades(A, "moodle", roster=twice, course=course, output=tmp_path / "m.csv")
    (tmp_path / "latin1.csv").write_bytes("Email address\nZo\xeb@uni.edu\n".encode("latin-1"))
    with pytest.raises(ValueError, match="is not UTF-8 text.*CSV UTF-8"):
        export_grades(A, "moodle", roster=tmp_path / "latin1.csv", course=course, output=tmp_path / "m.csv")
    assert not (tmp_path / "m.csv").exists()


def test_no_grades_for_the_assignment(course):
    with pytest.raises(ValueError, match="no grades for '03_softmax'.*run `mlcourse grade 03_softmax` first"):
        export_grades("03_softmax", "csv", course=course)


def test_a_failed_write_leaves_no_partial_file(course, tmp_path, monkeypatch):
    out = tmp_path / "out.csv"
    out.write_text("previous export\n")

    def half(handle, rows):
        handle.write("student,score\nada,8\n")
        raise OSError("disk full")

    monkeypatch.setattr(export_module, "_write_rows", half)
    with pytest.raises(OSError, match="disk full"):
        export_grades(A, "csv", course=course, output=out)
    assert out.read_text() == "previous export\n" and sorted(p.name for p in tmp_path.iterdir()) == ["course",
                                                                                                     "out.csv"]


def test_cli_exits_2_for_a_bad_roster(course, tmp_path):
    roster = write_csv(tmp_path / "moodle.csv", MOODLE_ROSTER)
    done = subprocess.run([sys.executable, "-m", "mlcourse", "export", A, "--format", "moodle", "--roster",
                           str(roster), "--match-column", "Student number", "--course", str(course)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "mlcourse export: error: roster" in done.stderr and "has no column 'Student number'" in done.stderr
    assert not (course / f"{A}_moodle.csv").exists()


def test_cli_writes_the_file(course, tmp_path):
    done = subprocess.run([sys.executable, "-m", "mlcourse", "export", A, "--format", "csv", "--course", str(course),
                           "--output", str(tmp_path / "g.csv")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"wrote {tmp_path / 'g.csv'} (csv): 3 grades" in done.stdout
    assert read_csv(tmp_path / "g.csv")[1] == ["ada", "8", "8", "100", "graded"]


@pytest.mark.slow
@SANDBOX_GRADING
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed (`make system-deps`)")
@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox drops student code to a spare uid, which needs root")
def test_a_late_submission_gets_the_late_penalty(tmp_path):
    from nbgrader.api import Gradebook

    from mlcourse.grading import grade_class

    course = tmp_path / "course"
    course.mkdir()
    config = (ROOT / "nbgrader_config.py").read_text() + '\nc.LateSubmissionPlugin.penalty_method = "zero"\n'
    (course / "nbgrader_config.py").write_text(config)
    shutil.copytree(ROOT / "solutions" / A, course / "solutions" / A)
    db = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(db, "mlcourse") as gb:  # as `nbgrader db assignment add 02_svm --duedate ...` does
        gb.update_or_create_assignment(A, duedate="2026-03-01 12:00:00 UTC")
    solution = nbformat.read(course / "solutions" / A / f"{A}.ipynb", as_version=4)
    for student, stamp in [("ontime", "2026-03-01 11:59:00.000000 UTC"), ("late", "2026-03-01 12:30:00.000000 UTC")]:
        folder = course / "submitted" / student / A
        folder.mkdir(parents=True)
        nbformat.write(solution, folder / f"{A}.ipynb")
        (folder / "timestamp.txt").write_text(stamp)

    full, most = sum(auto_points(solution).values()), sum(cell_points(solution).values())  # before a manual grade
    report = grade_class(A, course=course, progress=False)
    rows = {r["student"]: r for r in report.rows}
    assert {s: (r["status"], r["score"]) for s, r in rows.items()} == {"ontime": ("graded", full),
                                                                       "late": ("graded", 0.0)}, report.text
    with Gradebook(db, "mlcourse") as gb:
        assert gb.find_assignment(A).duedate == datetime.datetime(2026, 3, 1, 12, 0)  # kept by registering
        late = gb.find_submission(A, "late")
        assert late.total_seconds_late == 30 * 60 and gb.find_submission(A, "ontime").total_seconds_late == 0
        nb = gb.find_submission_notebook(A, A, "late")
        assert (float(nb.score), float(nb.late_submission_penalty)) == (full, full)

    roster = write_csv(tmp_path / "canvas.csv", [["Student", "ID", "SIS Login ID", "Section"],
                                                 ["On Time", "1", "ontime", "A"], ["Late", "2", "late", "A"]])
    export_grades(A, "canvas", roster=roster, course=course, output=tmp_path / "out.csv")
    assert read_csv(tmp_path / "out.csv") == [["Student", "ID", "SIS Login ID", "Section", A],
                                              ["    Points Possible", "", "", "", f"{most:g}"],
                                              ["On Time", "1", "ontime", "A", f"{full:g}"],
                                              ["Late", "2", "late", "A", "0"]]
