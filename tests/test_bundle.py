"""What a class receives (``mlcourse release --bundle``): the released notebooks and a student
wheel of mlcourse built from an allow-list; ``check-release`` finds no answer key in it and does
find one planted there; and every released notebook's visible tests run on that wheel alone, in
a fresh environment from which no part of the source tree can be imported."""
import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import nbformat
import pytest

from tests.course import visible_only
from mlcourse.release import BUNDLE_MARK, assignments, write_bundle
from mlcourse.release.leaks import answer_key, find_bundle_leaks, scan_wheel
from mlcourse.student_package import STUDENT_MODULES, wheel_name

ASSIGNMENTS = assignments()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return write_bundle(tmp_path_factory.mktemp("class") / "bundle", ASSIGNMENTS)


def test_bundle_holds_each_assignment_the_wheel_and_no_answer_key(bundle, root):
    assert sorted(p.name for p in bundle.iterdir() if p.is_dir()) == sorted(ASSIGNMENTS + ["zh_CN"])
    assert sorted(p.name for p in (bundle / "zh_CN").iterdir()) == ASSIGNMENTS
    for name in ASSIGNMENTS:
        for edition in ("", "zh_CN/"):
            assert (bundle / f"{edition}{name}" / f"{name}.ipynb").read_bytes() == \
                (root / f"{edition}exercises" / name / f"{name}.ipynb").read_bytes()
    with zipfile.ZipFile(bundle / wheel_name()) as wheel:
        modules = sorted(n for n in wheel.namelist() if not n.split("/")[0].endswith(".dist-info"))
    assert modules == sorted(f"mlcourse/{m}" for m in STUDENT_MODULES)
    assert find_bundle_leaks(bundle, root) == []


def test_a_bundle_replaces_only_a_bundle(bundle, tmp_path):
    assert (bundle / BUNDLE_MARK).exists()
    write_bundle(bundle, ASSIGNMENTS[:1], languages=("en",))  # an earlier bundle is replaced whole
    assert sorted(p.name for p in bundle.iterdir() if p.is_dir()) == ASSIGNMENTS[:1]
    write_bundle(bundle, ASSIGNMENTS)
    mine = tmp_path / "my-notes"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a bundle"):
        write_bundle(mine, ASSIGNMENTS)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_check_release_finds_reference_code_planted_in_the_wheel(bundle, root, tmp_path):
    from mlcourse.scratch import linear

    tampered = tmp_path / wheel_name()
    with zipfile.ZipFile(bundle / wheel_name()) as good, zipfile.ZipFile(tampered, "w") as bad:
        for name in good.namelist():
            data = good.read(name)
            if name == "mlcourse/data.py":  # a reference pasted into an allowed module, renamed
                data += b"\n\n" + Path(linear.__file__).read_bytes().replace(b"svm_loss_naive", b"hinge")
            bad.writestr(name, data)
        bad.writestr("mlcourse/scratch/gates.py", Path(linear.__file__).with_name("gates.py").read_bytes())
    reasons = [leak.reason for leak in scan_wheel(tampered, answer_key(root), root)]
    assert any("outside the student package's allow-list" in r for r in reasons)
    assert any("line of the answer key mlcourse.scratch.linear.svm_loss_vectorized" in r for r in reasons)
    assert any("defines add_forward, which an assignment grades" in r for r in reasons)


@pytest.fixture(scope="module")
def student_python(bundle, tmp_path_factory):
    """A fresh venv (no system site packages) outside the repository with the student wheel
    installed; the third-party packages the notebooks import (numpy, torch, ...) are borrowed,
    read-only, from this environment's site-packages, whose editable install of mlcourse is not
    activated there (a folder listed in a .pth file has its own .pth files ignored)."""
    venv = tmp_path_factory.mktemp("student") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(bundle / wheel_name())],
                   check=True, capture_output=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def run_cells(python, nb, folder):
    """{test cell id: None or [error type, message]} for ``nb`` run by ``python`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "notebook.ipynb")
    runner = shutil.copy(Path(__file__).with_name("notebook_cells.py"), folder)
    done = subprocess.run([str(python), "-I", runner, "notebook.ipynb"], cwd=folder, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_student_environment_has_the_wheel_and_nothing_of_the_source_tree(student_python, root):
    probe = ("import importlib.util, json, sys, mlcourse, mlcourse.grading, mlcourse.data\n"
             "print(json.dumps([mlcourse.__file__, sys.path,"
             " [m for m in ('mlcourse.scratch', 'mlcourse.models', 'mlcourse.gpu', 'mlcourse.grading.judge')"
             "  if importlib.util.find_spec(m)]]))")
    done = subprocess.run([str(student_python), "-I", "-c", probe], capture_output=True, text=True, cwd="/")
    location, path, found = json.loads(done.stdout)
    assert location.startswith(str(student_python.parent.parent)) and found == []
    others = [p for p in path if Path(p, "mlcourse").exists() and not p.startswith(str(student_python.parent.parent))]
    assert others == [] and str(root) not in path


@pytest.mark.slow
def test_released_notebooks_run_their_visible_tests_on_the_student_wheel(student_python, bundle, root, tmp_path):
    """The blank notebook fails every visible test because its functions are not written yet
    (NotImplementedError, the usual message), not because something is missing; the solution,
    with its hidden tests left out, passes every one; and every cell that is not a test runs."""
    for name in ASSIGNMENTS:
        released = nbformat.read(bundle / name / f"{name}.ipynb", as_version=4)
        blank = run_cells(student_python, released, tmp_path / name / "blank")
        tests = [c.metadata["nbgrader"]["grade_id"] for c in released.cells
                 if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]  # written answers are read by people
        assert sorted(k for k in blank if not k.startswith("cell ")) == sorted(tests)
        assert {k: v[0] for k, v in blank.items()} == dict.fromkeys(tests, "NotImplementedError"), (name, blank)
        solution = visible_only(nbformat.read(root / "solutions" / name / f"{name}.ipynb", as_version=4))
        solved = run_cells(student_python, solution, tmp_path / name / "solution")
        assert solved == dict.fromkeys(tests), (name, solved)


def test_a_chinese_notebook_speaks_chinese_on_the_student_wheel(student_python, bundle, root, tmp_path):
    """The Chinese 02_svm as the class receives it: its checks report in Chinese, from the wheel alone."""
    nb = nbformat.read(bundle / "zh_CN" / "02_svm" / "02_svm.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "svm_loss_naive")
    cell.source = cell.source.replace("raise NotImplementedError()", "return 0.0, np.zeros_like(W)")
    failed = run_cells(student_python, nb, tmp_path / "zh")
    kind, message = failed["test_svm_loss_naive"]
    assert kind == "AssertionError" and "应为" in message and "实际为" in message, message


def test_the_student_wheel_checks_a_notebook(student_python, bundle, tmp_path):
    """``python -m mlcourse.cli.check`` works from the wheel alone: a blank notebook's test cells
    are all reported as not done yet."""
    name = ASSIGNMENTS[0]
    shutil.copytree(bundle / name, tmp_path / name)
    done = subprocess.run([str(student_python), "-I", "-m", "mlcourse.cli.check", f"{name}/{name}.ipynb"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    tests = [c.metadata["nbgrader"]["grade_id"] for c in nbformat.read(bundle / name / f"{name}.ipynb", 4).cells
             if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    assert done.returncode == 1, done.stdout + done.stderr
    assert all(f"[not done] {t} " in done.stdout for t in tests), done.stdout
    assert f"0 of {len(tests)} test cells pass" in done.stdout
