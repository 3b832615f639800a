"""The class report (``mlcourse report``): its item statistics on a small class checked by hand,
failure messages grouped with their numbers masked, every student-provided string escaped, the
manual-grading queue read from nbgrader's gradebook, and the page in Chromium: no console
error, no request leaving the machine, every image loaded (screenshot in
``_build/report-screenshots/report-desktop.png``). No grading runs here: the gradebook is written directly."""
import concurrent.futures
import datetime
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from mlcourse.cli import main as cli_main
from mlcourse.grading.class_report import build_report, manual_queue, render
from mlcourse.grading.item_stats import cell_stats, common_failures, mask_numbers, point_biserial, score_summary
from mlcourse.grading.similarity import REFERENCE, Flag
from mlcourse.grading.store import RESULTS, ResultsTable

ROOT = Path(__file__).resolve().parent.parent
A = "02_svm"
HOSTILE = "<script>alert(1)</script>"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                 "--disable-quic", "--disable-component-update", "--disable-sync"]  # as tests/test_site_browser.py


def cell(name, points, max_points, outcome=None, message=""):
    outcome = outcome or ("passed" if points >= max_points else "failed")
    return dict(name=name, points=float(points), max_points=float(max_points), outcome=outcome, message=message,
                where="hidden" if message else "")


def row(student, cells, status="graded", reason="", run_seconds=2.0, trust="judged"):
    return dict(assignment=A, student=student, content_hash="0" * 64, status=status, reason=reason,
                score=sum(c["points"] for c in cells), max_score=7.0, cells=json.dumps(cells),
                run_seconds=run_seconds, graded_at=datetime.datetime(2026, 12, 1), trust=trust)


def small_class():
    """Four graded notebooks and one missing: cells A (2 points), B (3), C (1, passed by all),
    and a written answer M (1, awaiting a manual grade)."""
    def of(a, b, a_msg="", b_msg=""):
        return [cell("A", a, 2, message=a_msg), cell("B", b, 3, message=b_msg), cell("C", 1, 1),
                cell("M", 0, 1, "manual", "needs a manual grade")]
    rows = [row("s1", of(2, 3)), row("s2", of(2, 3)),
            row("s3", of(0, 0, "AssertionError: loss: expected 1.5, got 2.5",
                         "AssertionError: dW: 12 of 40 entries differ (relative error up to 3.1e-01, allowed 1e-07)."),
                run_seconds=9.5),
            row("s4", of(0, 3, "AssertionError: loss: expected 1.5, got 0.25"), status="timeout",
                reason="the notebook ran past 60 s"),
            row("s5", [cell(n, 0, m, "not-run", "the notebook was not run") for n, m in
                       (("A", 2), ("B", 3), ("C", 1), ("M", 1))], status="missing", run_seconds=None, trust=None)]
    return {r["student"]: r for r in rows}


def test_item_statistics_match_the_hand_computed_ones():
    stats = {c.name: c for c in cell_stats(list(small_class().values()))}
    a, b, c, m = stats["A"], stats["B"], stats["C"], stats["M"]
    assert a.n == 4  # the missing notebook is left out
    assert (a.pass_rate, a.mean_points, a.difficulty) == (0.5, 1.0, 0.5)
    assert (b.pass_rate, b.mean_points, b.difficulty) == (0.75, 2.25, 0.75)
    # A = [2, 2, 0, 0], rest = B + C + M = [4, 4, 1, 4]: deviations [1, 1, -1, -1] and [.75, .75, -2.25, .75]
    assert a.discrimination == pytest.approx(3 / math.sqrt(4 * 6.75)) == pytest.approx(1 / math.sqrt(3))
    points = np.array([[2, 3, 1, 0], [2, 3, 1, 0], [0, 0, 1, 0], [0, 3, 1, 0]], dtype=float)
    for j, name in enumerate("AB"):
        rest = points.sum(axis=1) - points[:, j]
        assert stats[name].discrimination == pytest.approx(np.corrcoef(points[:, j], rest)[0, 1])
    assert (c.pass_rate, c.difficulty, c.discrimination) == (1.0, 1.0, None)  # no variance: undefined
    assert m.manual and m.discrimination is None and m.difficulty == 0.0
    assert a.failures == [("AssertionError: loss: expected #, got #", 2)]
    assert b.failures == [("AssertionError: dW: # of # entries differ (relative error up to #, allowed #).", 1)]
    assert point_biserial([1, 2], [3, 3]) is None and point_biserial([1], [2]) is None
    summary = score_summary(list(small_class().values()))
    assert (summary["n"], summary["mean"], summary["median"], summary["max_score"]) == (4, 4.25, 5.0, 7.0)


def test_messages_group_with_their_numbers_masked():
    messages = [f"AssertionError: dW: {k % 13 + 1} of 40 entries differ" for k in range(30)]
    messages += ["AssertionError: W1: expected shape (3, 4), got shape (4, 3)",
                 "AssertionError: W1: expected shape (5, 2), got shape (2, 5)",
                 "AssertionError: out: expected [1. 2. 3.], got [ 1.5 -2.  nan]",
                 "AssertionError: scores: expected array([[1, 2], [3, 4]]), got array([[0, 0], [0, 0]])", ""]
    assert common_failures(messages) == [
        ("AssertionError: dW: # of # entries differ", 30),
        ("AssertionError: W1: expected shape (#, #), got shape (#, #)", 2),
        ("AssertionError: out: expected […], got […]", 1),
        ("AssertionError: scores: expected array([…]), got array([…])", 1)]
    assert mask_numbers("conv2d: x[3] is 1e-07, not -2.5.") == "conv2d: x[#] is #, not #."
    assert len(common_failures([f"m{k}: {k}" for k in range(9)])) == 5


def test_student_strings_are_escaped():
    rows = small_class()
    rows[HOSTILE] = row(HOSTILE, [cell("A", 0, 2, message=f"AssertionError: {HOSTILE}"), cell("B", 3, 3),
                                  cell("C", 1, 1)], status="invalid", reason=HOSTILE)
    flags = [Flag(HOSTILE, REFERENCE, 0.9, f"x = '{HOSTILE}'", "x = 1"), Flag("s1", HOSTILE, 0.8, "a", HOSTILE)]
    page = render(A, "mlcourse", rows, flags, {"M": [3, 0]}, [A])
    assert "<script" not in page and "alert(1)</" not in page
    assert html_escaped(HOSTILE) in page


def html_escaped(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def course_with(tmp_path, rows, flags=()):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    table = ResultsTable(f"sqlite:///{course / 'gradebook.db'}")
    for r in rows.values():  # the columns the table has (``trust`` is newer than some gradebooks)
        table.save({k: v for k, v in r.items() if k in RESULTS.c})
    table.save_flags(A, list(flags))
    table.close()
    return course


def test_no_grades_is_a_clear_error(tmp_path):
    course = course_with(tmp_path, {})
    with pytest.raises(ValueError, match=r"no grades for 02_svm in sqlite:.*run `mlcourse grade 02_svm` first"):
        build_report(A, course=course)


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's own session warnings
def test_manual_queue_reads_nbgrader_grades(tmp_path):
    from nbgrader.api import Gradebook
    from mlcourse.course import CourseContext

    rows = small_class()
    course = course_with(tmp_path, rows)
    ctx = CourseContext(course)
    assert manual_queue(ctx, A, rows) == ({"M": [4, 0]}, [])  # no nbgrader rows: every written answer waits
    with Gradebook(ctx.db_url, ctx.dirs.course_id) as gb:
        gb.add_assignment(A)
        gb.add_notebook(A, A)
        gb.add_grade_cell("M", A, A, max_score=1, cell_type="markdown")
        for student in ("s1", "s2", "s3"):
            gb.add_student(student)
            gb.add_submission(A, student)
        graded = gb.find_grade("M", A, A, "s2")
        graded.manual_score, graded.needs_manual_grade = 1.0, False
        gb.db.commit()
    assert manual_queue(ctx, A, rows) == ({"M": [3, 1]}, [A])  # s4 has no nbgrader submission: waits


def test_report_command_writes_the_page(tmp_path, capsys):
    course = course_with(tmp_path, small_class())
    out = tmp_path / "out" / "report.html"
    assert cli_main(["report", A, "--course", str(course), "--output", str(out),
                     "--formgrader-url", "http://grader.example:8000/"]) == 0
    assert str(out) in capsys.readouterr().out
    page = out.read_text()
    assert "http://grader.example:8000/formgrader/manage_submissions/02_svm" in page
    assert "<b>4</b> written answers await a grade" in page
    assert page.count("data:image/png;base64,") == 2
    assert "timeout" in page and "the notebook ran past 60 s" in page
    assert "<td>–</td>" not in page and '<td class="num">–</td>' in page  # C's discrimination
    assert not list(out.parent.glob(".*tmp"))
    assert cli_main(["report", "01_linear_classifier", "--course", str(course)]) == 2
    assert "no grades for 01_linear_classifier" in capsys.readouterr().err


def big_class(n=60, seed=0):
    """``n`` made-up students with a spread of scores, failures, statuses and run times."""
    rng = np.random.default_rng(seed)
    rows = {}
    for i in range(n):
        skill = rng.uniform()
        cells = [cell(name, points if ok else 0, points, message="" if ok else
                      f"AssertionError: dW: {rng.integers(1, 40)} of 40 entries differ (relative error up to "
                      f"{rng.uniform():.2e}, allowed 1e-07).")
                 for name, points in (("test_svm_loss_naive", 2), ("test_svm_loss_vectorized", 3),
                                      ("test_svm_grad", 1)) for ok in [rng.uniform() < 0.3 + 0.7 * skill]]
        cells.append(cell("written_answer", 0, 1, "manual", "needs a manual grade"))
        status = "graded" if i % 9 else ["timeout", "memory-limit", "kernel-died", "invalid"][i // 9 % 4]
        student = HOSTILE if i == 7 else f"student{i:03d}"
        rows[student] = row(student, cells, status, reason="" if status == "graded" else f"{status} {HOSTILE}",
                            run_seconds=float(rng.gamma(4, 1.0)), trust="in-kernel" if i % 5 == 0 else "judged")
    flags = [Flag("student001", REFERENCE, 0.93, "def svm_loss_naive(W, X, y, reg):\n    loss = 0.0",
                  "def svm_loss_naive(W, X, y, reg):\n    loss = 0.0"),
             Flag("student002", HOSTILE, 0.81, "margin = s - s[y] + 1", f"margin = s - s[y] + 1  # {HOSTILE}"),
             Flag(HOSTILE, "student002", 0.81, f"margin = s - s[y] + 1  # {HOSTILE}", "margin = s - s[y] + 1")]
    return rows, flags


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (`make system-deps`)")
def test_report_opens_offline_in_chromium(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    rows, flags = big_class()
    path = build_report(A, course=course_with(tmp_path, rows, flags))
    errors, outside, requests = [], [], []

    def route(r):
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort("blockedbyclient")

    def visit():  # in a thread of its own: an earlier test may leave an asyncio loop running in this one
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.route("**/*", route)
                page.on("console", lambda msg: msg.type == "error" and errors.append(f"console: {msg.text}"))
                page.on("pageerror", lambda err: errors.append(f"uncaught: {err}"))
                page.on("request", lambda req: requests.append(req.url))
                page.on("requestfailed", lambda req: errors.append(f"failed: {req.url}"))
                page.goto(path.as_uri(), wait_until="load")
                images = page.evaluate("() => Array.from(document.images, i => [i.complete, i.naturalWidth])")
                scripts = page.evaluate("() => document.querySelectorAll('script').length")
                trust = page.inner_text("#trust")
                width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
                shots = ROOT / "_build" / "report-screenshots"
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / "report-desktop.png"), full_page=True)
            finally:
                browser.close()
        return images, scripts, trust, width

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        images, scripts, trust, width = pool.submit(visit).result(timeout=120)
    assert not errors, errors
    left = [u for u in requests + outside if not u.startswith(("file:", "data:"))]
    assert not left, f"requests leaving the machine: {left}"
    assert len(images) == 2 and all(done and width > 0 for done, width in images), images
    assert scripts == 0  # the hostile id stayed text
    assert "nbgrader's in-kernel trust" in trust and "judged in the grader's process" in trust
    assert width[0] <= width[1], f"the page is wider than the window: {width}"


def test_grade_has_a_report_option():
    import argparse

    from mlcourse.cli.grade import add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    assert parser.parse_args(["grade", A, "--report"]).report and not parser.parse_args(["grade", A]).report
