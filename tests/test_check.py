"""``mlcourse check``: a notebook run from the top in a fresh kernel, each test cell's message
printed whole with the line that failed, unwritten answers told apart, the file left as it was."""
import subprocess
import sys

import nbformat
from nbformat.v4 import new_code_cell, new_notebook


def _cell(source, grade_id, solution=False, points=None):
    meta = {"grade_id": grade_id, "solution": solution, "grade": points is not None, "locked": not solution}
    if points is not None:
        meta["points"] = points
    return new_code_cell(source, metadata={"nbgrader": meta})


def test_check_prints_every_message_whole(tmp_path):
    long_label = "loss at reg = 0.5 (the regularization term reg * sum(W**2) belongs to the loss) " * 2
    nb = new_notebook(cells=[
        new_code_cell("import numpy as np\nfrom mlcourse.grading import assert_close, assert_returns"),
        _cell("def forward(x):\n    return 2 * x\n", "forward", solution=True),
        _cell("x = np.arange(3.0)\nout, cache = assert_returns('forward', forward(x), 'out', 'cache')\n", "test_forward",
              points=2),
        _cell("def loss(w):\n    return float(np.sum(w ** 2))\n", "loss", solution=True),
        _cell(f"w = np.ones(2)\nassert_close({long_label!r}, loss(w), 3.0)\n", "test_loss", points=3),
        _cell("def later(x):\n    raise NotImplementedError\n", "later", solution=True),
        _cell("later(1)\n", "test_later", points=1),
        _cell("assert_close('sum', loss(np.ones(3)), 3.0)\n", "test_sum", points=1),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "hw.ipynb"
    nbformat.write(nb, path)
    before = path.read_bytes()
    done = subprocess.run([sys.executable, "-m", "mlcourse", "check", str(path)], capture_output=True, text=True,
                          timeout=300)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "[failed] test_forward (2 points)\n    AssertionError: forward must return (out, cache), got one array" in out
    assert "    at line 2 of the test cell: out, cache = assert_returns(" in out
    assert f"[failed] test_loss (3 points)\n    AssertionError: {long_label}: expected 3, got 2" in out
    assert "[not done] test_later (1 points)\n    an answer it needs is not written yet" in out
    assert "[passed] test_sum (1 points)" in out
    assert "1 of 4 test cells pass their visible tests" in out and "hidden tests" in out
    assert path.read_bytes() == before


def test_check_explains_a_file_it_cannot_read(tmp_path):
    path = tmp_path / "hw.ipynb"
    path.write_text("{ half a notebook")
    done = subprocess.run([sys.executable, "-m", "mlcourse", "check", str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "is not a readable notebook" in done.stderr and "backups/" in done.stderr
