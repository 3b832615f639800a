"""``mlcourse grade`` against one batch of hostile submissions on the SVM exercise, with the real
nbgrader engine and sandbox: each gets its status and reason and no effect on the others; the
sandbox proven against a spy notebook (and the spy proven to work without it); feedback that
never shows a hidden test."""
import json
import os
import shutil
import socket
import threading
import uuid
from pathlib import Path

import nbformat
import pytest

from mlcourse.grading import grade_class
from mlcourse.grading.spec import split_hidden
from tests.course import SANDBOX_GRADING, solution_cell
from tests.svm_course import A, Clone, base, edit, gradebook_scores, index_of, prepend  # noqa: F401 (base: fixture)

pytestmark = [
    pytest.mark.slow,
    SANDBOX_GRADING,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed (`make system-deps`)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox drops student code to a spare uid, which needs root"),
]
MARKER = "987654"  # the argument of a background `sleep` a hostile notebook leaves behind



class Listener:
    """A TCP server on 127.0.0.1 that counts who connects."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port, self.connections = self.server.getsockname()[1], []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                self.connections.append(self.server.accept())
            except OSError:
                return


def spy(course, listener, other_student):
    """The solution with one more cell that tries to get out and prints what it managed."""
    targets = {"solutions": str(course.path / "solutions" / A / f"{A}.ipynb"),
               "gradebook": str(course.path / "gradebook.db"), "config": str(course.path / "nbgrader_config.py"),
               "other_student": str(course.path / "submitted" / other_student / A / f"{A}.ipynb")}
    writes = {"outside": str(course.path / "pwned-by-spy.txt"), "tmp": f"/tmp/mlcourse-pwned-{os.getpid()}.txt"}
    code = f"""import json, os, socket
probe = {{}}
try:
    socket.create_connection(("127.0.0.1", {listener.port}), timeout=3).close()
    probe["socket"] = "connected"
except OSError as err:
    probe["socket"] = type(err).__name__
for key, path in {targets!r}.items():
    try:
        with open(path, "rb") as fh:
            fh.read(64)
        probe[key] = "read"
    except OSError as err:
        probe[key] = type(err).__name__
for key, path in {writes!r}.items():
    try:
        with open(path, "w") as fh:
            fh.write("pwned")
        probe[key] = "written"
    except OSError as err:
        probe[key] = type(err).__name__
probe["uid"] = os.getuid()
print("PROBE " + json.dumps(probe))"""
    nb = nbformat.from_dict(course.solution)
    nb.cells.insert(2, nbformat.v4.new_code_cell(code))
    return nb, writes


def printed(course, student, marker):
    """What the autograded notebook of ``student`` printed after ``marker``."""
    nb = nbformat.read(course.path / "autograded" / student / A / f"{A}.ipynb", as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("name") == "stdout" and marker in output.text:
                return output.text.split(marker, 1)[1].splitlines()[0]
    raise AssertionError(f"{student} printed nothing after {marker!r}")


def probe_results(course, student):
    return json.loads(printed(course, student, "PROBE "))


def hostile(course):
    """{student: (notebook, or raw bytes, or None for a folder without a notebook)}."""
    sol = course.solution
    out = {"correct": sol}
    out["warns"] = prepend(sol, "sgd_step", "    import warnings\n    warnings.warn('learning rate looks large')\n")
    out["loop"] = prepend(sol, "sgd_step", f"    import subprocess\n    subprocess.Popen(['sleep', '{MARKER}'], "
                                           "start_new_session=True)\n    while True:\n        pass\n")
    out["membomb"] = prepend(sol, "svm_loss_naive",
                             "    hog = []\n    while True:\n        hog.append(bytearray(10**7))\n")
    out["forkbomb"] = prepend(sol, "svm_loss_naive", "    import os\n    while True:\n        os.fork()\n")
    out["dies"] = prepend(sol, "sgd_step", "    import os\n    os._exit(3)\n")
    out["shouts"] = prepend(sol, "svm_loss_naive",
                            "    for _ in range(10**6):\n        print('x' * 10**4, flush=True)\n")
    out["syntax"] = edit(sol, "svm_loss_naive", "def svm_loss_naive(W, X, y, reg):", "def svm_loss_naive(W, X, y, reg)")
    nb = nbformat.from_dict(sol)
    del nb.cells[index_of(nb, "test_sgd_step")]
    out["deleted"] = nb
    nb = nbformat.from_dict(sol)
    i = index_of(nb, "test_svm_loss_naive")
    copy = nbformat.from_dict(nb.cells[i])
    copy.id = "copy-of-test"
    nb.cells.insert(i + 1, copy)
    out["duplicated"] = nb
    nb = nbformat.from_dict(sol)
    nb.cells.insert(index_of(nb, "sgd_step"), nb.cells.pop(index_of(nb, "test_sgd_step")))
    out["reordered"] = nb
    nb = edit(sol, "svm_loss_vectorized", "loss = margins.sum() / N", "loss = 2 * margins.sum() / N")
    solution_cell(nb, "test_svm_loss_vectorized").source = "print('all good')"
    out["edited"] = nb
    nb = nbformat.from_dict(sol)
    for c in nb.cells:
        c.id = uuid.uuid4().hex[:12]
    out["newids"] = nb
    nb = nbformat.from_dict(sol)
    nb.cells[index_of(nb, "test_sgd_step")].metadata.nbgrader["grade_id"] = "my_test"
    out["renamed"] = nb
    nb = nbformat.from_dict(sol)
    for c in nb.cells:
        if "nbgrader" in c.metadata:
            c.metadata.nbgrader["grade_id"] = "knn_" + c.metadata.nbgrader["grade_id"]
    out["otherwork"] = nb
    text = nbformat.writes(sol).encode()
    out["corrupt"], out["empty"], out["nothing"] = text[: len(text) // 2], b"", None
    out["leaker"] = leaker(sol)
    out["forger"] = forger(sol)
    return out


def forger(sol):
    """The solution with wrong conceptual answers dressed to pass (an int and a float subclass
    equal to anything) and its kernel's ``mlcourse.grading`` patched to accept any answer."""
    nb = nbformat.from_dict(sol)
    solution_cell(nb, "answer_correct_score_gradient").source = (
        "import mlcourse.grading, mlcourse.grading.asserts\n"
        "for module in (mlcourse.grading, mlcourse.grading.asserts):\n"
        "    module.assert_answer = module.check_answer_form = lambda *args, **kwargs: None\n\n\n"
        "class Anything(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\n\n\n"
        "def answer_correct_score_gradient():\n    return Anything(5)\n")
    solution_cell(nb, "answer_svm_initial_loss").source = (
        "class Close(float):\n    def __eq__(self, other):\n        return True\n\n"
        "    def __sub__(self, other):\n        return 0.0\n\n    def __abs__(self):\n        return 0.0\n\n"
        "    __hash__ = float.__hash__\n\n\n"
        "def answer_svm_initial_loss():\n    return Close(1.0)\n")
    return nb


def leaker(sol):
    """The solution, looking for the hidden tests from inside its kernel: every frame on the stack
    while the judge calls it, the input history, its namespace and every file it can list in its
    folder, printed by a last cell. (Reading frames' namespaces also fails the integrity checks.)"""
    nb = prepend(sol, "svm_loss_naive", "    import builtins, sys\n    frame = sys._getframe()\n"
                 "    while frame is not None:\n"
                 "        builtins.SEEN = getattr(builtins, 'SEEN', []) + [repr(frame.f_locals)[:20000]]\n"
                 "        frame = frame.f_back\n")
    nb.cells.append(nbformat.v4.new_code_cell(
        "import builtins, json, os\nseen = list(getattr(builtins, 'SEEN', []))[:200]\n"
        "seen += [repr(get_ipython().user_ns.get('_ih')), repr(sorted(get_ipython().user_ns))]\n"
        "for folder, _, files in os.walk('.'):\n    for name in files:\n        try:\n"
        "            seen.append(open(os.path.join(folder, name), errors='replace').read()[:10**6])\n"
        "        except OSError:\n            pass\nprint('LEAK ' + json.dumps(seen))"))
    return nb


# student: (status, score, words the reason must hold)
EXPECTED = {  # of 14 points: 10 auto-graded, 4 in two written answers that no one has graded yet
    "correct": ("graded", 10, []), "warns": ("graded", 10, []), "newids": ("graded", 10, []),
    "loop": ("timeout", 7, ["time limit of 20 s reached in cell test_sgd_step"]),
    "membomb": ("memory-limit", 7, ["out of memory", "512 MB"]),
    "forkbomb": ("process-limit", 7, ["too many processes"]),
    "dies": ("kernel-died", 7, ["the kernel exited (exit code 3) in cell test_sgd_step"]),
    "shouts": ("output-limit", 0, ["printed more than 32 MB in cell test_svm_loss_naive"]),
    "syntax": ("graded", 7, ["SyntaxError", "answer cell svm_loss_naive"]),
    "deleted": ("modified", 8, ["test cell test_sgd_step was deleted"]),
    "duplicated": ("modified", 10, ["test_svm_loss_naive appears 2 times"]),
    "reordered": ("modified", 8, ["out of order: test_sgd_step comes before sgd_step"]),
    "edited": ("modified", 7, ["test cell test_svm_loss_vectorized was edited; the original was restored"]),
    "renamed": ("modified", 8, ["'my_test' is not in 02_svm", "test_sgd_step was deleted"]),
    "otherwork": ("wrong-assignment", 0, ["none of the cells of 02_svm"]),
    "corrupt": ("invalid", 0, ["invalid JSON"]), "empty": ("invalid", 0, ["empty"]),
    "nothing": ("missing", 0, ["no notebook submitted"]),
    "spy": ("graded", 10, []),  # the leaker reads frames' f_locals; its conceptual answers are plain values
    "leaker": ("graded", 2, ["test_svm_loss_naive failed (IntegrityError)"]),
    "forger": ("graded", 8, []),
}


def hidden_lines(course):
    """Stripped lines of the hidden tests that neither the released notebook nor the solution's
    answers contain (a line like ``scores = X @ W`` is the student's as well)."""
    public = {line.strip() for c in course.released.cells for line in c.source.split("\n")}
    public |= {line.strip() for c in course.solution.cells if c.metadata.get("nbgrader", {}).get("solution")
               for line in c.source.split("\n")}
    lines = {line.strip() for c in course.solution.cells for line, hidden in split_hidden(c.source) if hidden}
    return sorted(lines - public - {""})


def processes_with(marker):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


def test_hostile_class(base, tmp_path):
    course = Clone(base, tmp_path / "course")
    listener = Listener()
    submissions = hostile(course)
    submissions["spy"], writes = spy(course, listener, "correct")
    try:
        check_hostile_class(course, tmp_path, listener, submissions, writes)
    finally:
        for path in writes.values():
            Path(path).unlink(missing_ok=True)


def check_hostile_class(course, tmp_path, listener, submissions, writes):
    for student, nb in submissions.items():
        folder = course.path / "submitted" / student / A
        folder.mkdir(parents=True)
        if nb is not None:
            (folder / f"{A}.ipynb").write_bytes(nb if isinstance(nb, bytes) else nbformat.writes(nb).encode())

    report = grade_class(A, course=course.path, workers=2, timeout=20, memory=512, feedback=True, progress=False)
    rows = {r["student"]: r for r in report.rows}
    assert report.ran == len(EXPECTED) - 1 and set(rows) == set(EXPECTED)
    failures = []
    for student, (status, score, words) in EXPECTED.items():
        got = rows[student]
        if (got["status"], got["score"]) != (status, score) or not all(w in got["reason"] for w in words):
            failures.append(f"{student}: expected {status} {score} {words}, got {got['status']} {got['score']} "
                            f"{got['reason']!r}")
    assert not failures, "\n".join(failures)
    assert rows["correct"]["reason"] == rows["warns"]["reason"] == ""
    assert {c["name"] for c in json.loads(rows["forger"]["cells"]) if c["outcome"] == "failed"} == \
        {"test_answer_correct_score_gradient", "test_answer_svm_initial_loss"}, "a forged conceptual answer scored"
    in_gradebook = gradebook_scores(course.db, [s for s in EXPECTED if s != "nothing"])
    assert {s: sum(v.values()) for s, v in in_gradebook.items()} == {s: rows[s]["score"] for s in in_gradebook}
    assert not processes_with(f"sleep\0{MARKER}"), "a background process of a timed-out notebook survived"

    probes = probe_results(course, "spy")  # the spy in the sandbox got nowhere
    assert probes["socket"] != "connected" and not listener.connections
    for key in ["solutions", "gradebook", "config", "other_student", "outside"]:
        assert probes[key] in ("FileNotFoundError", "PermissionError", "OSError"), (key, probes[key])
    assert probes["tmp"] == "written" and probes["uid"] != 0  # its own private /tmp, as a nobody
    assert not any(Path(p).exists() for p in writes.values()), "a write escaped the sandbox"

    secret = hidden_lines(course)
    leaked = printed(course, "leaker", "LEAK ")  # the judge's test cells never enter the kernel
    assert "svm_loss_naive" in leaked and "svm_loss_vectorized" in leaked, "the leaker saw nothing: the probe is broken"
    assert not [line for line in secret if line in leaked], "hidden tests were readable inside the kernel"
    pages = list((course.path / "feedback").glob(f"*/{A}/{A}.html"))
    assert len(pages) == len(EXPECTED)
    import html
    for page in pages:
        text = page.read_text()
        for line in secret:
            assert line not in text and line not in html.unescape(text), f"{page}: shows hidden test line {line!r}"
    correct = (course.path / "feedback" / "correct" / A / f"{A}.html").read_text()
    assert "Score: 10 / 14" in correct and "Hidden tests: <span class='passed'>passed</span>" in correct

    again = grade_class(A, course=course.path, workers=2, timeout=20, memory=512, progress=False)
    assert (again.ran, again.skipped) == (0, len(EXPECTED)), "unchanged submissions must not run again"
    assert [r["content_hash"] for r in again.rows] == [r["content_hash"] for r in report.rows]

    # the control: without the sandbox the same spy reads, writes and connects (so the probes work)
    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / "spy.ipynb").write_text(nbformat.writes(submissions["spy"]))
    control = grade_class(A, course=course.path, submissions=upload, sandbox=False, force=True,
                          output=tmp_path / "control.csv", progress=False)
    assert control.ran == 1 and control.skipped == len(EXPECTED) - 1  # the others keep their grades
    probes = probe_results(course, "spy")
    assert probes["socket"] == "connected" and listener.connections
    assert all(probes[k] == "read" for k in ["solutions", "gradebook", "config", "other_student"]), probes
    assert probes["outside"] == probes["tmp"] == "written"
