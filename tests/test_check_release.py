"""``mlcourse check-release``: nothing of the answer key (markers, solution lines, hidden-test
lines) in released notebooks, the built site or feedback. The check is tested on a small made-up
course with leaks planted in each kind of file, then run on the real tree."""
import html
import json
import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tests.built_site import SITE_TESTS, site_dir  # noqa: F401 (fixture)
from tests.course import ROOT
from mlcourse import cli
from mlcourse.release import assignments
from mlcourse.release.leaks import answer_key, find_leaks, is_trivial

SOLUTION = '''def relu_forward(x):
    """ReLU. x: any shape. Returns out of the same shape."""
    ### BEGIN SOLUTION
    # keep the positive part
    out = np.maximum(0, x)
    mask = (x > 0).astype(x.dtype)
    return out * mask + 0.0 * x
    ### END SOLUTION'''
TEST = '''x = np.array([-1.0, 2.0])
assert relu_forward(x).tolist() == [0.0, 2.0], "relu on two numbers"
### BEGIN HIDDEN TESTS
x = np.array([-1.0, 2.0])
rng = np.random.default_rng(7)
x = 3.0 * rng.standard_normal((4, 5)) - 1.0
assert np.allclose(relu_forward(x), np.where(x > 0, x, 0.0)), "relu on random input"
### END HIDDEN TESTS'''
WHOLE_SOLUTION = 'def scale(x):\n    return 2.5 * x + np.float64(0.5)'
ANSWER = "The gradient vanishes for negative inputs because ReLU is flat there."

SOLUTION_LINE = "mask = (x > 0).astype(x.dtype)"
HIDDEN_LINE = 'assert np.allclose(relu_forward(x), np.where(x > 0, x, 0.0)), "relu on random input"'


def nbgrader(grade_id, **flags):
    return {"nbgrader": {"grade_id": grade_id, "schema_version": 3, "locked": False,
                         "solution": flags.get("solution", False), "grade": flags.get("grade", False),
                         **({"points": 1} if flags.get("grade") else {})}}


def write_notebook(path, cells):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=cells), path)
    return path


def released_cells():
    """What nbgrader would release: stubs for solutions, hidden tests removed."""
    return [new_code_cell("import numpy as np"),
            new_code_cell('def relu_forward(x):\n    """ReLU. x: any shape. Returns out of the same shape."""\n'
                          '    # YOUR CODE HERE\n    raise NotImplementedError()', metadata=nbgrader("relu", solution=True)),
            new_code_cell(TEST.split("### BEGIN")[0].rstrip(), metadata=nbgrader("test_relu", grade=True)),
            new_code_cell("# YOUR CODE HERE\nraise NotImplementedError()", metadata=nbgrader("scale", solution=True)),
            new_markdown_cell("YOUR ANSWER HERE", metadata=nbgrader("why", solution=True))]


@pytest.fixture
def course(tmp_path):
    """A made-up course: the course config, one instructor notebook, its clean release, and a
    clean little site."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    write_notebook(tmp_path / "solutions/01_relu/01_relu.ipynb", [
        new_code_cell("import numpy as np"),
        new_code_cell(SOLUTION, metadata=nbgrader("relu", solution=True)),
        new_code_cell(TEST, metadata=nbgrader("test_relu", grade=True)),
        new_code_cell(WHOLE_SOLUTION, metadata=nbgrader("scale", solution=True)),
        new_markdown_cell(ANSWER, metadata=nbgrader("why", solution=True))])
    write_notebook(tmp_path / "exercises/01_relu/01_relu.ipynb", released_cells())
    site = tmp_path / "_build/html"
    page(site / "book/relu.html", ["import numpy as np", "out = np.maximum(0, x)", "return out",
                                   "x = np.array([-1.0, 2.0])", "# keep the positive part"])
    return tmp_path


def highlight(line):
    """A code line as Pygments writes it in HTML: one span per token, entities escaped."""
    return "".join(f'<span class="n">{html.escape(token)}</span> ' for token in line.split(" ")).rstrip()


def page(path, code_lines, extra=""):
    """Write an HTML page with a highlighted code block; returns {code line: its line number}."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head = ["<!DOCTYPE html>", "<html><head><title>t</title></head><body>", extra,
            '<div class="highlight"><pre><span></span>']
    lines = head + [highlight(line) for line in code_lines] + ["</pre></div>", "</body></html>"]
    path.write_text("\n".join(lines))
    return {line: len(head) + i + 1 for i, line in enumerate(code_lines)}


def leaks_in(course, **dirs):
    dirs.setdefault("site_dir", course / "_build/html")
    return [(leak.path, leak.line, leak.reason) for leak in find_leaks(course, **dirs)]


@pytest.mark.parametrize("line", ["", "   ", "# a comment", "import numpy as np", "from mlcourse import scratch as reference",
                                  "return out", "loss = 0.0", "pass", "scores = X @ W", "return loss, dW",
                                  "N, C = X.shape[0], W.shape[1]", "dW = np.zeros_like(W)", "out = np.maximum(0, x)",
                                  "h, cache = affine_forward(x, w, b)", "else:"])
def test_trivial_lines(line):
    assert is_trivial(line)


@pytest.mark.parametrize("line", ["margin = scores[j] - scores[y[i]] + 1", "return W - learning_rate * dW, loss",
                                  "dW = dW / N + 2 * reg * W", 'assert_close(f"loss for N={N}", loss, ref, 1e-9)',
                                  "if j == y[i] and margin > 0:", "x = x.reshape(x.shape[0], -1)"])
def test_lines_that_compute_are_not_trivial(line):
    assert not is_trivial(line)


def test_prose_is_judged_by_length_only():
    assert not is_trivial(ANSWER, code=False) and is_trivial(ANSWER.split(" because")[0][:12], code=False)


def test_answer_key_holds_solution_and_hidden_lines_but_not_trivial_or_public_ones(course):
    key = {s.text: s.kind for s in answer_key(course).values()}
    assert key == {SOLUTION_LINE: "solution", "return out * mask + 0.0 * x": "solution",
                   "x = 3.0 * rng.standard_normal((4, 5)) - 1.0": "hidden test",
                   HIDDEN_LINE: "hidden test", "return 2.5 * x + np.float64(0.5)": "solution", ANSWER: "solution"}


def test_clean_release_and_site_have_no_leaks(course):
    assert leaks_in(course) == []


def json_line(path, text):
    """Line number of the notebook file line that holds ``text`` as a JSON string."""
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if json.dumps(text)[1:-1] in line)


def test_marker_in_a_released_notebook(course):
    path = course / "exercises/01_relu/01_relu.ipynb"
    write_notebook(path, released_cells() + [new_code_cell("    ### BEGIN SOLUTION\nx = 1")])
    assert leaks_in(course, site_dir=None) == [
        ("exercises/01_relu/01_relu.ipynb", json_line(path, "### BEGIN SOLUTION"), "answer-key marker 'BEGIN SOLUTION'")]


def test_solution_line_in_a_released_notebook(course):
    path = course / "exercises/01_relu/01_relu.ipynb"
    write_notebook(path, released_cells() + [new_code_cell(f"def relu_forward(x):\n    {SOLUTION_LINE}\n    return x")])
    [(where, line, reason)] = leaks_in(course, site_dir=None)
    assert (where, line) == ("exercises/01_relu/01_relu.ipynb", json_line(path, SOLUTION_LINE))
    assert reason == f"line of a solution (solutions/01_relu/01_relu.ipynb, cell relu): {SOLUTION_LINE}"


def test_hidden_test_line_in_a_site_page_split_into_spans(course):
    lines = page(course / "_build/html/book/relu.html", ["x = np.array([-1.0, 2.0])", HIDDEN_LINE])
    assert "&quot;" in (course / "_build/html/book/relu.html").read_text()
    assert leaks_in(course) == [("_build/html/book/relu.html", lines[HIDDEN_LINE],
                                 f"line of a hidden test (solutions/01_relu/01_relu.ipynb, cell test_relu): {HIDDEN_LINE}")]


def test_solution_line_in_inline_code_of_a_site_page(course):
    extra = f'<p>Hint: write <code class="docutils literal"><span class="pre">{html.escape(SOLUTION_LINE)}</span></code> first.</p>'
    page(course / "_build/html/book/relu.html", ["return out"], extra=extra)
    assert [(p, n) for p, n, _ in leaks_in(course)] == [("_build/html/book/relu.html", 3)]


def test_marker_in_an_html_comment_of_a_site_page(course):
    page(course / "_build/html/book/relu.html", ["return out"], extra="<!-- END HIDDEN TESTS -->")
    assert leaks_in(course) == [("_build/html/book/relu.html", 3, "answer-key marker 'END HIDDEN TESTS'")]


def test_leaks_in_site_sources_and_copied_notebooks(course):
    source = course / "_build/html/_sources/book/relu.md"
    source.parent.mkdir(parents=True)
    source.write_text(f"# ReLU\n\n```python\nreturn 2.5 * x + np.float64(0.5)\n```\n\n{ANSWER}\nHint: `{SOLUTION_LINE}`.\n")
    notebook = write_notebook(course / "_build/html/_sources/exercises/01_relu.ipynb",
                              [new_code_cell(f"x = 3.0 * rng.standard_normal((4, 5)) - 1.0\n{HIDDEN_LINE}")])
    found = [(p, n, r.split(" (")[0]) for p, n, r in leaks_in(course)]
    assert found == [("_build/html/_sources/book/relu.md", 4, "line of a solution"),
                     ("_build/html/_sources/book/relu.md", 7, "line of a solution"),
                     ("_build/html/_sources/book/relu.md", 8, "line of a solution"),
                     ("_build/html/_sources/exercises/01_relu.ipynb", json_line(notebook, "x = 3.0 * rng"), "line of a hidden test"),
                     ("_build/html/_sources/exercises/01_relu.ipynb", json_line(notebook, "assert np"), "line of a hidden test")]


def test_feedback_quoting_a_hidden_test_in_a_traceback(course):
    feedback = course / "feedback/alice/01_relu/01_relu.html"
    lines = page(feedback, ["AssertionError  Traceback (most recent call last)", f"----> 7 {HIDDEN_LINE}"])
    assert leaks_in(course, site_dir=None, feedback_dirs=[course / "feedback"]) == [
        ("feedback/alice/01_relu/01_relu.html", lines[f"----> 7 {HIDDEN_LINE}"],
         f"line of a hidden test (solutions/01_relu/01_relu.ipynb, cell test_relu): {HIDDEN_LINE}")]


def test_feedback_may_show_what_the_student_wrote_but_nothing_more(course):
    feedback = course / "feedback/alice/01_relu/01_relu.html"
    lines = page(feedback, [SOLUTION_LINE, "return out * mask + 0.0 * x", HIDDEN_LINE])
    write_notebook(course / "submitted/alice/01_relu/01_relu.ipynb",
                   released_cells() + [new_code_cell(f"def relu_forward(x):\n    {SOLUTION_LINE}\n    return x * mask")])
    found = leaks_in(course, site_dir=None, feedback_dirs=[feedback], submitted_dir=course / "submitted")
    assert [(p, n) for p, n, _ in found] == [("feedback/alice/01_relu/01_relu.html", lines[SOLUTION_LINE]),
                                            ("feedback/alice/01_relu/01_relu.html", lines["return out * mask + 0.0 * x"]),
                                            ("feedback/alice/01_relu/01_relu.html", lines[HIDDEN_LINE])]
    found = leaks_in(course, site_dir=None, feedback_dirs=[course / "feedback"], submitted_dir=course / "submitted")
    assert [(p, n) for p, n, _ in found] == [("feedback/alice/01_relu/01_relu.html", lines["return out * mask + 0.0 * x"]),
                                            ("feedback/alice/01_relu/01_relu.html", lines[HIDDEN_LINE])]


@pytest.mark.parametrize("command", [*cli.COMMANDS, *cli.ALIASES])
def test_every_subcommand_is_registered_with_its_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main([command, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: mlcourse {cli.ALIASES.get(command, command)} ")


def test_command_line(course, capsys):
    assert cli.main(["check-leaks", "--root", str(course)]) == 0
    assert "no answer key in exercises, _build/html" in capsys.readouterr().out
    at = page(course / "_build/html/book/relu.html", [HIDDEN_LINE])[HIDDEN_LINE]
    feedback = course / "elsewhere/fb.html"
    marker_at = page(feedback, ["### BEGIN HIDDEN TESTS"])["### BEGIN HIDDEN TESTS"]
    assert cli.main(["check-release", "--root", str(course), str(feedback)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"_build/html/book/relu.html:{at}: line of a hidden test "
                                f"(solutions/01_relu/01_relu.ipynb, cell test_relu): {HIDDEN_LINE}",
                                f"elsewhere/fb.html:{marker_at}: answer-key marker 'BEGIN HIDDEN TESTS'"]
    assert "2 leak(s)" in err
    assert cli.main(["check-release", "--root", str(course), str(course / "missing")]) == 2
    assert cli.main(["check-release", "--root", str(course), "--submitted", str(course / "missing")]) == 2
    assert "submissions folder" in capsys.readouterr().err


def test_release_of_an_unknown_assignment_lists_the_known_ones(capsys):
    assert cli.main(["release", "99_nothing"]) == 2
    assert "no assignment 99_nothing in solutions/; choose from 00_knn" in capsys.readouterr().err


@pytest.mark.parametrize("assignment", assignments())
def test_answer_key_of_every_assignment_is_checkable(assignment, root):
    kinds = {s.kind for s in answer_key(root).values() if s.origin.startswith(f"solutions/{assignment}/")}
    assert kinds == {"solution", "hidden test"}, f"{assignment}: nothing to look for of {({'solution', 'hidden test'} - kinds)}"


def test_released_exercises_hold_no_answer_key(root):
    leaks = find_leaks(root)
    assert not leaks, "\n".join(map(str, leaks))


@pytest.mark.parametrize("book", ["book", "zh_CN/book"])
def test_book_sources_hold_no_answer_key(root, book):
    """The chapters' own code shares no line with a solution or hidden test: found in seconds, before
    the site build that the test below needs."""
    leaks = find_leaks(root, site_dir=root / book)
    assert not leaks, "\n".join(map(str, leaks))


@pytest.mark.slow
@SITE_TESTS
def test_built_site_holds_no_answer_key(root, site_dir):  # noqa: F811
    leaks = find_leaks(root, site_dir=site_dir)
    assert not leaks, "\n".join(map(str, leaks))
