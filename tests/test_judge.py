"""Grades nobody can forge: a judged assignment (02_svm) graded with ``mlcourse grade``, its test
cells run in the grader's process and the student's kernel only answering calls with data.

One class holds every attack of the trusted-grades issue on a notebook that implements nothing,
each also obfuscated (built from a hex string and ``exec``), and more: each scores what the blank
notebook scores, with the reason its cells failed. A correct solution that uses the same APIs
harmlessly keeps full marks (not built through ``exec``, which the integrity checks refuse)."""
import json
import os
import shutil

import nbformat
import pytest

from tests.course import SANDBOX_GRADING, Course, solution_cell
from mlcourse.grading import grade_class

A = "02_svm"
pytestmark = [
    pytest.mark.slow,
    SANDBOX_GRADING,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed (`make system-deps`)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox drops student code to a spare uid, which needs root"),
]

ATTACKS = {
    "input-transformer": "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n",
    "ast-transformer": "import ast\nclass Empty(ast.NodeTransformer):\n    def visit_Module(self, node):\n"
                       "        node.body = []\n        return node\nget_ipython().ast_transformers.append(Empty())\n",
    "no-op-checks": "import mlcourse.grading as g\nfor n in dir(g):\n    if n.startswith(('assert_', 'check_')):\n"
                    "        setattr(g, n, lambda *a, **k: None)\n        globals()[n] = lambda *a, **k: None\n",
    "fake-module": "import sys, types\nfake = types.ModuleType('mlcourse.grading')\n"
                   "fake.__getattr__ = lambda name: (lambda *a, **k: None)\nsys.modules['mlcourse.grading'] = fake\n",
    "numpy-patched": "import numpy\nnumpy.allclose = lambda *a, **k: True\nnumpy.isfinite = lambda a: numpy.ones(numpy.shape(a), bool)\n"
                     "numpy.testing.assert_allclose = lambda *a, **k: None\n",
    "builtins-patched": "import builtins\nbuiltins.AssertionError = type('Quiet', (Exception,), {})\n"
                        "builtins.float = lambda *a: 0.0\n",
    "settrace": "import sys\ndef skip(frame, event, arg):\n    frame.f_trace_lines = False\n    return None\n"
                "sys.settrace(skip)\n",
    "late-thread": "import threading, time\ndef later():\n    time.sleep(0.5)\n    import mlcourse.grading as g\n"
                   "    g.assert_close = lambda *a, **k: None\nthreading.Thread(target=later, daemon=True).start()\n",
}
# answers that go for the reference or fool comparisons, in place of the stubs
ANSWERS = {
    "helper-calls-reference": "def _helper(name):\n    import mlcourse.scratch as s\n    return getattr(s, name)\n",
    "string-import": "import importlib\nref = importlib.import_module('ml' + 'course.scratch')\n",
    "always-equal": "class Yes(float):\n    def __eq__(self, other):\n        return True\n    __le__ = __ge__ = __lt__ = __gt__ = __eq__\n"
                    "    def __abs__(self):\n        return 0.0\n",
    "huge-reply": "",
    "wrong-types": "",
}
BODIES = {
    "helper-calls-reference": "return _helper('{name}')(*args)",
    "string-import": "return getattr(ref, '{name}')(*args)",
    "always-equal": "return Yes(0.0), Yes(0.0)",
    "huge-reply": "return np.zeros(2_200_000), 0.0",
    "wrong-types": "return 'loss', {{'dW': [1, 2]}}",
}
STUBS = {"svm_loss_naive": "(W, X, y, reg)", "svm_loss_vectorized": "(W, X, y, reg)",
         "sgd_step": "(W, X_batch, y_batch, learning_rate, reg, loss_fn=None)"}
BENIGN = ("import ast, importlib, sys, threading\nimport numpy as np\n"
          "class Same(ast.NodeTransformer):\n    pass\nget_ipython().ast_transformers.append(Same())\n"
          "get_ipython().input_transformers_cleanup.append(lambda lines: lines)\n"
          "threading.Thread(target=lambda: None).start()\nnp.set_printoptions(precision=4)\nsys.settrace(None)\n"
          "math = importlib.import_module('math')\n")


def obfuscated(code):
    return f"exec(bytes.fromhex({code.encode().hex()!r}).decode())\n"


def with_first_cell(nb, code):
    nb = nbformat.from_dict(nb)
    cell = solution_cell(nb, "svm_loss_naive")
    cell.source = code + cell.source
    return nb


def answered(nb, kind):
    """The blank notebook whose three answers are written as ``BODIES[kind]``."""
    nb = nbformat.from_dict(nb)
    for name, signature in STUBS.items():
        args = "W, X_batch, y_batch, learning_rate, reg" if name == "sgd_step" else "W, X, y, reg"
        body = BODIES[kind].format(name=name).replace("*args", args)
        prelude = ANSWERS[kind] if name == "svm_loss_naive" else ""
        solution_cell(nb, name).source = f"{prelude}def {name}{signature}:\n    {body}\n"
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("judged"), A)
    blank = course.released
    notebooks = {"blank": blank, "solution": course.solution, "benign": with_first_cell(course.solution, BENIGN)}
    for name, code in ATTACKS.items():
        notebooks[name] = with_first_cell(blank, code)
        notebooks[f"{name}-obfuscated"] = with_first_cell(blank, obfuscated(code))
    for kind in BODIES:
        notebooks[kind] = answered(blank, kind)
    for kind in ("helper-calls-reference", "string-import"):
        nb = answered(blank, kind)
        cell = solution_cell(nb, "svm_loss_naive")
        cell.source = obfuscated(cell.source)
        notebooks[f"{kind}-obfuscated"] = nb
    for student, nb in notebooks.items():
        course.submit(student, nb)
    report = grade_class(A, course=course.path, workers=2, timeout=60, progress=False)
    return {row["student"]: row for row in report.rows}


def test_every_attack_scores_what_the_blank_notebook_scores(graded):
    blank = graded["blank"]["score"]
    assert blank == 0.0
    wrong = {s: (r["score"], r["reason"][:200]) for s, r in graded.items()
             if not s.startswith(("solution", "benign", "blank")) and r["score"] != blank}
    assert not wrong, f"attacks that scored more than the blank notebook: {wrong}"
    for student, row in graded.items():
        if not student.startswith(("solution", "benign")):
            cells = json.loads(row["cells"])
            assert all(c["outcome"] in ("failed", "not-run") and c["message"] for c in cells
                       if c["outcome"] != "manual"), (student, cells)  # manual: a written answer, read by a person
            assert "lost points" in row["reason"], (student, row["reason"])


def test_the_reference_is_out_of_reach_and_replies_are_checked(graded):
    def messages(student):
        return " | ".join([graded[student]["reason"]] + [c["message"] for c in json.loads(graded[student]["cells"])])
    for student in ("helper-calls-reference", "string-import", "string-import-obfuscated"):
        assert "No module named 'mlcourse.scratch'" in messages(student), messages(student)
    # its exec is reported by the visible own-code check before the kernel is asked to call anything
    assert "builds or rebinds names at run time" in messages("helper-calls-reference-obfuscated")
    assert "more than the" in messages("huge-reply") and "a reply may carry" in messages("huge-reply")
    assert "expected a number" in messages("wrong-types")


def test_correct_solution_using_the_same_apis_keeps_full_marks(graded):
    for student in ("solution", "benign"):
        # the auto-graded 10 of 14 points; the two written answers await a person
        assert (graded[student]["score"], graded[student]["status"]) == (10.0, "graded"), graded[student]["reason"]
