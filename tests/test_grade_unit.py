"""Fast checks of the class grader's parts, without kernels: submissions discovery (nbgrader
layout, folder, zip), rejected files, how changed test cells are noticed, where a test
failed (visible or hidden part), statuses, feedback scrubbing, CSVs, the command line, the
sandbox command and its refusal when bubblewrap is missing (shards: test_grade_shard.py)."""
import json
import shutil
import subprocess
import zipfile
from types import SimpleNamespace

import nbformat
import pytest

from tests.course import ROOT
from mlcourse import cli
from mlcourse.cli import grade as grade_cli
from mlcourse.course import CourseContext
from mlcourse.grading import feedback, grader, report, sandbox, store, submission
from mlcourse.grading import outcome as outcomes
from mlcourse.grading.sandbox import Limits
from mlcourse.grading.similarity import Flag
from mlcourse.grading.spec import AssignmentSpec
from mlcourse.grading.submission import Rejected
from mlcourse.markers import Delimiters

HIDDEN = "assert secret_check(a, 41)"
VISIBLE_A = "assert a(1) == 2"
FULL_A = f"{VISIBLE_A}\n### BEGIN HIDDEN TESTS\n{HIDDEN}\n### END HIDDEN TESTS"


def spec():
    """A two-question assignment: answer cells a, b; test cells test_a (with hidden tests), test_b."""
    return AssignmentSpec(
        assignment="hw", notebook="hw", grade_cells={"test_a": 2.0, "test_b": 3.0}, solution_cells=["a", "b"],
        released={"test_a": [VISIBLE_A, FULL_A], "test_b": ["assert b() == 3"] * 2},
        order=["a", "test_a", "b", "test_b"], hidden_lines=[HIDDEN],
        delimiters=Delimiters(), fingerprint="f")


def cell(grade_id, source, grade=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": grade, "solution": not grade, "schema_version": 3}
    if points is not None:
        meta["points"] = points
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": meta})


def student_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("intro"), cell("a", "def a(x):\n    return 2 * x"),
                cell("test_a", VISIBLE_A, True, 2), cell("b", "def b():\n    return 3"),
                cell("test_b", "assert b() == 3", True, 3)]
    return nb


@pytest.fixture
def course(tmp_path, root):
    shutil.copy(root / "nbgrader_config.py", tmp_path)
    return CourseContext(tmp_path)


def test_limits_reject_nonsense():
    with pytest.raises(ValueError, match="timeout must be a positive number, got 0"):
        Limits(timeout=0)
    with pytest.raises(ValueError, match="memory_mb"):
        Limits(memory_mb=-5)
    assert Limits(timeout=30).cpu == 40 and Limits(cpu_seconds=3).cpu == 3
    assert Limits(cpu_seconds=0.5).cpu == 1                          # never a limit of 0 s


def test_course_context_needs_a_config(tmp_path):
    with pytest.raises(ValueError, match="nbgrader_config.py"):
        CourseContext(tmp_path)


def test_ignore_pattern_applies_when_configured(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text('c = get_config()\nc.IgnorePattern.pattern = "Warning"\n')
    ctx = CourseContext(tmp_path)
    assert ctx.grading_config.IgnorePattern.enabled is True
    assert "enabled" not in ctx.config.IgnorePattern  # the course config itself is left as it is


def test_find_submissions_in_nbgrader_layout(course):
    root = course.root / "submitted"
    for student, files in {"ann": ["hw.ipynb", "data.txt"], "bob": ["notes.txt"], ".hidden": ["hw.ipynb"]}.items():
        (root / student / "hw").mkdir(parents=True)
        for name in files:
            (root / student / "hw" / name).write_text("{}")
    (root / "cy" / "other").mkdir(parents=True)  # another assignment only: not a submission of hw
    subs, ignored = submission.find_submissions(course, "hw", "hw")
    assert [(s.student, s.path is not None) for s in subs] == [("ann", True), ("bob", False)]
    assert subs[0].folder == str(root / "ann" / "hw") and len(ignored) == 1 and ".hidden" in ignored[0]


def test_find_submissions_in_a_folder_and_a_zip(course, tmp_path):
    flat = tmp_path / "upload"
    flat.mkdir()
    for name in ["ann.ipynb", "bob.ipynb", "notes.txt"]:
        (flat / name).write_text(name)
    subs, _ = submission.find_submissions(course, "hw", "hw", flat)
    assert [(s.student, s.read()) for s in subs] == [("ann", b"ann.ipynb"), ("bob", b"bob.ipynb")]
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("export/ann.ipynb", "A")
        z.writestr("export/cy.ipynb", "C1")
        z.writestr("late/cy.ipynb", "C2")
        z.writestr("__MACOSX/export/._ann.ipynb", "junk")
        z.writestr("readme.md", "hi")
    subs, ignored = submission.find_submissions(course, "hw", "hw", archive)
    assert [(s.student, s.read()) for s in subs] == [("ann", b"A")]
    assert len(ignored) == 2 and all("several notebooks for cy" in i for i in ignored)


def test_find_submissions_rejects_bad_paths(course, tmp_path):
    (tmp_path / "grades.csv").write_text("x")
    with pytest.raises(ValueError, match="folder or a .zip"):
        submission.find_submissions(course, "hw", "hw", tmp_path / "grades.csv")
    with pytest.raises(ValueError, match="no such folder"):
        submission.find_submissions(course, "hw", "hw", tmp_path / "nowhere")


@pytest.mark.parametrize("data, says", [
    (b"", "empty"), (b"  \n", "empty"), (b"\xff\xfe\x00", "not UTF-8"),
    (b'{"cells": [', "invalid JSON at line 1"), (b"[1, 2]", "not a notebook"),
])
def test_unreadable_files_are_rejected_with_a_reason(data, says):
    with pytest.raises(Rejected, match=says) as err:
        submission.read_submission(data)
    assert err.value.status == "invalid"


def test_untouched_notebook_has_no_notes():
    nb = student_notebook()
    assert submission.inspect_submission(nb, spec()) == []
    nb.cells[2].source = FULL_A  # the instructor's own version is not an edit either
    assert submission.inspect_submission(nb, spec()) == []


@pytest.mark.parametrize("change, note", [
    (lambda nb: nb.cells.pop(4), "test cell test_b was deleted (0 of 3 points)"),
    (lambda nb: nb.cells.insert(3, nbformat.from_dict(nb.cells[2])), "cell test_a appears 2 times"),
    (lambda nb: nb.cells.insert(1, nb.cells.pop(2)), "out of order: test_a comes before a"),
    (lambda nb: setattr(nb.cells[2], "source", "pass"), "test cell test_a was edited; the original was restored"),
    (lambda nb: nb.cells[4].metadata.nbgrader.update(grade_id="mine"), "cell id 'mine' is not in hw"),
])
def test_changed_test_cells_are_noted(change, note):
    nb = student_notebook()
    change(nb)
    notes = submission.inspect_submission(nb, spec())
    assert any(note in n for n in notes), notes


def test_duplicates_keep_only_the_last_copy_graded():
    nb = student_notebook()
    nb.cells.insert(3, nbformat.from_dict(nb.cells[2]))
    submission.inspect_submission(nb, spec())
    assert "nbgrader" not in nb.cells[2].metadata and nb.cells[3].metadata.nbgrader["grade_id"] == "test_a"


def test_renamed_cell_runs_as_an_ordinary_cell():
    nb = student_notebook()
    nb.cells[4].metadata.nbgrader["grade_id"] = "mine"
    notes = submission.inspect_submission(nb, spec())
    assert "nbgrader" not in nb.cells[4].metadata
    assert any("test_b was deleted" in n for n in notes)


def test_notebook_of_another_assignment_is_rejected():
    nb = student_notebook()
    for c in nb.cells[1:]:
        c.metadata.nbgrader["grade_id"] = "knn_" + c.metadata.nbgrader["grade_id"]
    with pytest.raises(Rejected, match="none of the cells of hw") as err:
        submission.inspect_submission(nb, spec())
    assert err.value.status == "wrong-assignment" and "knn_a" in err.value.reason


# an IPython traceback as nbclient stores it (colour codes included)
TRACEBACK = [
    "\x1b[31m---------------------------------------------------------------------------\x1b[39m",
    "\x1b[31mAssertionError\x1b[39m                            Traceback (most recent call last)",
    "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[7]\x1b[39m\x1b[32m, line {line}\x1b[39m\n----> ...",
    "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[3]\x1b[39m\x1b[32m, line 2\x1b[39m, in \x1b[36ma\x1b[39m()",
    "\x1b[31mAssertionError\x1b[39m: nope",
]


def executed(outputs_a, outputs_b=()):
    nb = student_notebook()
    nb.cells[2].source, nb.cells[2].execution_count = FULL_A, 7
    nb.cells[2].outputs, nb.cells[4].outputs = list(outputs_a), list(outputs_b)
    return nb


def error(ename="AssertionError", evalue="nope", line=1):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=[t.replace("{line}", str(line)) for t in TRACEBACK])


@pytest.mark.parametrize("line, where", [(1, "visible"), (3, "hidden"), (2, "hidden"), (99, "")])
def test_error_location(line, where):
    nb = executed([error(line=line)])
    assert outcomes.error_location(nb.cells[2], nb.cells[2].outputs[0], spec().delimiters) == where


def test_cell_outcomes():
    stderr = nbformat.v4.new_output("stream", name="stderr", text="DeprecationWarning: old\n")
    nb = executed([error(line=3)], [stderr])
    a, b = outcomes.cell_outcomes(nb, spec())
    assert (a.name, a.points, a.max_points, a.outcome, a.where) == ("test_a", 0.0, 2.0, "failed", "hidden")
    assert a.message == "AssertionError: nope"
    assert (b.outcome, b.points) == ("failed", 0.0) and "wrote to stderr" in b.message
    nb.cells.pop(4)
    assert [c.outcome for c in outcomes.cell_outcomes(nb, spec(), points={"test_a": 1.5})] == ["failed", "missing"]
    assert outcomes.cell_outcomes(nb, spec(), points={"test_a": 1.5})[0].points == 1.5


@pytest.mark.parametrize("stop, outputs, notes, status", [
    (None, [], [], "graded"),
    (None, [], ["test cell test_b was deleted"], "modified"),
    (None, [error("MemoryError", "")], ["edited"], "memory-limit"),
    (None, [error("BlockingIOError", "[Errno 11]")], [], "process-limit"),
    (("timeout", "time limit of 5 s reached"), [error("MemoryError", "")], [], "timeout"),
])
def test_status_precedence(stop, outputs, notes, status):
    nb = executed(outputs)
    cells = outcomes.cell_outcomes(nb, spec())
    got, reason = outcomes.decide(nb, cells, notes, SimpleNamespace(stop=stop, forks=0, limits=Limits()))
    assert got == status
    for note in notes:
        assert note in reason
    if stop:
        assert stop[1] in reason


def test_syntax_error_in_an_answer_is_the_reason():
    nb = executed([])
    nb.cells[1].outputs = [error("SyntaxError", "invalid syntax (line 2)")]
    ran = SimpleNamespace(stop=None, forks=0, limits=Limits())
    status, reason = outcomes.decide(nb, outcomes.cell_outcomes(nb, spec()), [], ran)
    assert status == "graded" and "SyntaxError: invalid syntax (line 2) in answer cell a" in reason


def row(cells, reason=""):
    return {"student": "ann", "score": sum(c["points"] for c in cells), "max_score": 5.0, "status": "graded",
            "reason": reason, "cells": json.dumps(cells)}


def outcome(name, points, max_points, kind, message="", where=""):
    return dict(name=name, points=points, max_points=max_points, outcome=kind, message=message, where=where)


def test_feedback_shows_visible_results_and_only_pass_fail_for_hidden():
    leak = f"AssertionError: copied {HIDDEN} out"
    page = feedback.render_feedback(spec(), "ann", row([
        outcome("test_a", 0.0, 2.0, "failed", "AssertionError: secret message", "hidden"),
        outcome("test_b", 0.0, 3.0, "failed", leak, "visible")], reason=leak))
    assert "secret message" not in page, "a hidden test's message must not be shown"
    assert HIDDEN not in page and "[hidden]" in page
    assert "copied [hidden] out" in page and VISIBLE_A in page
    cut = feedback.render_feedback(spec(), "ann", row([outcome("test_b", 0.0, 3.0, "failed",
                                                               f"ValueError: {HIDDEN[:-4]}...", "visible")]))
    assert HIDDEN[:16] not in cut, "a truncated hidden line is still hidden"
    assert "Hidden tests: <span class='failed'>failed</span>" in page
    nb = executed([])
    nb.cells[1].source = f"def a(x):\n    # {HIDDEN}\n    return 2 * x"
    assert HIDDEN not in feedback.render_feedback(spec(), "ann", row([]), nb)


def test_feedback_withholds_messages_of_unknown_origin():
    page = feedback.render_feedback(spec(), "ann", row([
        outcome("test_a", 0.0, 2.0, "failed", "ValueError: 42 != 41", ""),
        outcome("test_b", 0.0, 3.0, "not-run", "NotRun: not run: time limit of 5 s reached in cell test_a")]))
    assert "42 != 41" not in page and "details withheld" in page
    assert "time limit of 5 s reached" in page


def test_csvs_and_summary(tmp_path):
    rows = [dict(row([outcome("test_a", 2.0, 2.0, "passed"), outcome("test_b", 0.0, 3.0, "not-run", "NotRun: x")]),
                 student="ann", status="timeout", reason="time limit of 5 s reached", trust="in-kernel"),
            dict(row([]), student="bob", status="missing", reason="no notebook submitted", score=0.0)]
    flags = [Flag("ann", "the answer key", 0.93), Flag("ann", "cid", 0.81)]
    grades, cells = report.write_csvs(tmp_path / "out" / "grades.csv", rows, flags)
    assert cells.name == "grades_cells.csv"
    assert grades.read_text().splitlines() == ["student,score,max_score,status,reason,similar_to,trust",
                                               "ann,2.0,5.0,timeout,time limit of 5 s reached,"
                                               "the answer key (93%); cid (81%),in-kernel",
                                               "bob,0.0,5.0,missing,no notebook submitted,,"]
    assert cells.read_text().splitlines()[1:] == ["ann,test_a,2.0,2.0,passed,,",
                                                  "ann,test_b,0.0,3.0,not-run,,NotRun: x"]
    text = report.summary("hw", rows, 1, 0, ["x.ipynb"], (grades, cells), flags)
    for part in ["2 students, 1 graded now", "test cells run in the student's kernel (nbgrader's in-kernel trust", "timeout", "missing", "time limit of 5 s reached", "x.ipynb",
                 "near-copies in the answer cells", "ann              the answer key (93%); cid (81%)"]:
        assert part in text
    # a late penalty can push a score below 0: it still counts, in the lowest bin
    late = report.summary("hw", [dict(rows[1], score=-1.0)], 1, 0, [], (grades, cells))
    assert "0.0 -   1.0  # 1" in late


def test_results_table_keeps_one_row_per_student(tmp_path):
    table = store.ResultsTable(f"sqlite:///{tmp_path}/gb.db")
    base = dict(assignment="hw", student="ann", content_hash="h1", status="graded", reason="", score=1.0,
                max_score=5.0, cells="[]", run_seconds=1.0, graded_at=None)
    table.save(base)
    table.save(dict(base, content_hash="h2", score=4.0))
    rows = table.rows("hw")
    assert list(rows) == ["ann"] and (rows["ann"]["content_hash"], rows["ann"]["score"]) == ("h2", 4.0)
    table.close()


def test_command_line():
    parser = cli.argparse.ArgumentParser()
    grade_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["grade", "02_svm", "--workers", "2", "--shard", "2/3", "--timeout", "30",
                              "--memory", "512", "--feedback", "--no-sandbox", "--db", "sqlite:///x.db"])
    assert (args.assignment, args.workers, args.shard, args.timeout, args.memory) == ("02_svm", 2, (2, 3), 30.0, 512)
    assert args.feedback and args.no_sandbox and args.func is grade_cli.run
    with pytest.raises(SystemExit):
        parser.parse_args(["grade", "02_svm", "--shard", "3/2"])


def test_main_reports_a_bad_course_clearly(tmp_path, capsys):
    assert cli.main(["grade", "02_svm", "--course", str(tmp_path)]) == 2
    assert "mlcourse grade: error: expected an nbgrader course folder" in capsys.readouterr().err


def test_sandbox_command_shows_nothing_of_the_course(tmp_path, root):
    rundir = tmp_path / "run"
    cmd = sandbox.bwrap_command(["python", "-c", "pass"], rundir, rundir / "work", 61234, Limits(), {"A": "1"})
    joined = " ".join(cmd)
    for flag in ["--unshare-net", "--unshare-pid", "--die-with-parent", "--clearenv", "--reuid=61234", "--nproc=64"]:
        assert flag in cmd or flag in joined
    binds = [cmd[i + 1] for i, arg in enumerate(cmd) if arg in ("--bind", "--ro-bind")]
    assert str(rundir) in binds and cmd[cmd.index(str(rundir)) - 1] == "--bind"
    for secret in ["solutions", "submitted", "gradebook", "nbgrader_config", "exercises"]:
        assert not any(secret in b for b in binds), f"{secret} must not be mounted in the sandbox"
    assert not any(b == str(root) for b in binds), "the course folder itself must not be mounted"
    assert cmd[-3:] == ["python", "-c", "pass"]


def test_missing_bubblewrap_refuses_clearly(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(sandbox.SandboxUnavailable, match=r"bubblewrap \(bwrap\) is not installed.*--no-sandbox"):
        sandbox.bwrap_command(["true"], tmp_path, tmp_path, 61234, Limits(), {})


def test_a_job_that_may_not_create_namespaces_is_refused_with_the_cause(monkeypatch, tmp_path):
    denied = subprocess.CompletedProcess([], 1, "", "bwrap: No permissions to creating new namespace")
    monkeypatch.setattr(sandbox.subprocess, "run", lambda *a, **k: denied)
    monkeypatch.setattr(sandbox.os, "chown", lambda *a: None)
    with pytest.raises(sandbox.SandboxUnavailable, match=r"No permissions.*may not create namespaces.*SYS_ADMIN"):
        sandbox.check_sandbox(61234, Limits(), tmp_path / "run")


def test_no_sandbox_warns_loudly(capsys):
    grader.ensure_sandbox(Limits(), sandbox=False)
    assert "WARNING: --no-sandbox: student code runs with YOUR rights" in capsys.readouterr().err


def test_grading_refuses_when_the_sandbox_cannot_start(monkeypatch, course, capsys):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    monkeypatch.setattr(grader, "_CHECKED", set())
    assert cli.main(["grade", "hw", "--course", str(course.root)]) == 2
    err = capsys.readouterr().err
    assert "mlcourse grade: error: bubblewrap (bwrap) is not installed" in err and "--no-sandbox" in err


def test_pipeline_follows_the_course_config(tmp_path):
    from nbgrader.preprocessors import ClearOutput, Execute, LimitOutput, SaveAutoGrades

    from mlcourse.grading.execute import pipeline

    default = pipeline(CourseContext(ROOT).grading_config)
    assert default.sanitize[0] is ClearOutput and LimitOutput in default.after and default.record[0] is SaveAutoGrades
    assert not any(issubclass(p, Execute) for p in default.sanitize + default.before + default.after + default.record)
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.Autograde.autograde_preprocessors = ["
        "'nbgrader.preprocessors.LimitOutput', 'nbgrader.preprocessors.Execute', 'nbgrader.preprocessors.SaveAutoGrades']\n")
    custom = pipeline(CourseContext(tmp_path).config)
    assert (custom.before, custom.after, custom.record) == ((LimitOutput,), (), (SaveAutoGrades,))
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.Autograde.autograde_preprocessors = ['nbgrader.preprocessors.LimitOutput']\n")
    with pytest.raises(ValueError, match="must hold nbgrader's Execute exactly once"):
        pipeline(CourseContext(tmp_path).config)

