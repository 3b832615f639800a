"""A student's work is never lost: ``mlcourse start`` copies an assignment into a folder of their
own and overwrites nothing there, and regenerating the released notebooks backs up any released
file someone edited (but not one that is only out of date) and says where."""
import json
import shutil

import nbformat

from mlcourse import cli
from mlcourse.cli.start import start
from mlcourse.course import Course
from mlcourse.release import RECORD, assignments, generate


def test_start_copies_into_a_folder_of_ones_own_and_keeps_what_is_there(root, tmp_path):
    copied, kept = start("02_svm", tmp_path / "work", root)
    notebook = tmp_path / "work" / "02_svm" / "02_svm.ipynb"
    assert copied == [notebook] and kept == []
    assert notebook.read_bytes() == (root / "exercises" / "02_svm" / "02_svm.ipynb").read_bytes()
    notebook.write_text("my work")
    copied, kept = start("02_svm", tmp_path / "work", root)
    assert (copied, kept) == ([], [notebook]) and notebook.read_text() == "my work"


def test_start_finds_the_released_folder_upward_without_an_nbgrader_config(root, tmp_path, monkeypatch, capsys):
    shutil.copytree(root / "exercises" / "02_svm", tmp_path / "exercises" / "02_svm")
    (tmp_path / "notes").mkdir()
    monkeypatch.chdir(tmp_path / "notes")
    assert cli.main(["start", "02_svm"]) == 0
    assert (tmp_path / "work" / "02_svm" / "02_svm.ipynb").is_file() and not (tmp_path / "nbgrader_config.py").exists()
    assert f"never write to {tmp_path / 'work'}" in capsys.readouterr().out


def test_instructor_commands_find_the_course_upward_and_never_the_package(root, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no course here or above: the installed package's folder is not one
    assert cli.main(["report", "02_svm"]) == 2 and "no nbgrader_config.py in" in capsys.readouterr().err
    monkeypatch.chdir(root / "solutions" / "02_svm")
    assert Course().root == root and assignments()[0] == "00_knn"


def course_copy(root, tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(root / "nbgrader_config.py", course)
    shutil.copytree(root / "solutions" / "01_linear_classifier", course / "solutions" / "01_linear_classifier")
    return course


def test_release_backs_up_an_edited_notebook_but_not_a_stale_one(root, tmp_path, capsys):
    course = course_copy(root, tmp_path)
    dest = course / "exercises" / "01_linear_classifier"
    notebook = dest / "01_linear_classifier.ipynb"
    generate("01_linear_classifier", dest, course)
    record = json.loads((dest.parent / RECORD).read_text())
    assert list(record) == ["01_linear_classifier/01_linear_classifier.ipynb"]

    # the instructor changes solutions/: the old release is out of date, not edited; nothing is kept
    source = course / "solutions" / "01_linear_classifier" / "01_linear_classifier.ipynb"
    nb = nbformat.read(source, as_version=4)
    nb.cells[0].source += "\n\nThis exercise has four parts."
    nbformat.write(nb, source)
    generate("01_linear_classifier", dest, course)
    assert not (course / "backups").exists() and "four parts" in notebook.read_text()

    # a student fills in the released notebook, then runs `make`: their notebook is kept
    edited = notebook.read_text().replace("raise NotImplementedError()", "return 42", 1)
    notebook.write_text(edited)
    generate("01_linear_classifier", dest, course)
    backups = list((course / "backups").rglob("01_linear_classifier.ipynb"))
    assert len(backups) == 1 and backups[0].read_text() == edited
    assert notebook.read_text() != edited
    assert f"your version is kept at {backups[0]}" in capsys.readouterr().err
