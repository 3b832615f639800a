"""The one command line: every command is registered, a user's mistake is one line and exit
status 2, a bug keeps its traceback, ``--debug`` re-raises, ``-v`` shows the log."""
import logging

import pytest

from mlcourse import cli
from mlcourse.cli import report as report_cli
from mlcourse.errors import BadInput, CourseError


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0 and all(name in out for name in cli.COMMANDS)


def test_a_course_error_is_one_line_and_exit_2(tmp_path, capsys):
    assert cli.main(["report", "02_svm", "--course", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlcourse report: error: expected an nbgrader course folder") and "Traceback" not in err
    with pytest.raises(BadInput, match="expected an nbgrader course folder"):
        cli.main(["--debug", "report", "02_svm", "--course", str(tmp_path)])


def test_a_bug_is_not_dressed_up_as_a_usage_error(monkeypatch):
    def broken(args):
        raise ValueError("operands could not be broadcast together")  # as numpy would

    monkeypatch.setattr(report_cli, "run", broken)
    with pytest.raises(ValueError, match="broadcast"):
        cli.main(["report", "02_svm"])
    assert not issubclass(ValueError, CourseError)


def test_verbose_shows_the_log(monkeypatch, capsys):
    def chatty(args):
        logging.getLogger("mlcourse.grading.pool").info("ann: grading (worker 1)")

    monkeypatch.setattr(report_cli, "run", chatty)
    cli.main(["report", "02_svm"])
    assert "ann: grading" not in capsys.readouterr().err
    cli.main(["-v", "report", "02_svm"])
    assert "mlcourse.grading.pool: ann: grading (worker 1)" in capsys.readouterr().err
