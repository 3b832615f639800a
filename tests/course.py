"""A throw-away nbgrader course for tests: release an assignment, submit notebooks for
made-up students, autograde them with the real nbgrader CLI, and read back per-cell scores."""
import json
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml

from mlcourse.release import nbgrader

ROOT = Path(__file__).resolve().parent.parent
WRONG_ANSWERS = Path(__file__).resolve().parent / "wrong_answers"
INDEPENDENT = Path(__file__).resolve().parent / "independent_solutions"
# sandboxed class grading runs one test at a time in one pytest-xdist worker: the tests count
# sandbox processes and run folders, which another class's grading would add to
SANDBOX_GRADING = pytest.mark.xdist_group("sandbox-grading")


class Course:
    def __init__(self, path, assignment):
        self.path, self.assignment = Path(path), assignment
        self.db = f"sqlite:///{self.path / 'gradebook.db'}"
        shutil.copy(ROOT / "nbgrader_config.py", self.path)
        shutil.copytree(ROOT / "solutions" / assignment, self.path / "solutions" / assignment)
        chinese = ROOT / "zh_CN" / "solutions" / assignment
        if chinese.is_dir():  # the Chinese edition's notebook, which its students submit
            shutil.copytree(chinese, self.path / "zh_CN" / "solutions" / assignment)
        nbgrader(["generate_assignment", assignment, "--db", self.db], cwd=self.path)

    @property
    def solution(self):
        return nbformat.read(self.path / "solutions" / self.assignment / f"{self.assignment}.ipynb", as_version=4)

    @property
    def released(self):
        return nbformat.read(self.path / "exercises" / self.assignment / f"{self.assignment}.ipynb", as_version=4)

    def submit(self, student, nb):
        folder = self.path / "submitted" / student / self.assignment
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / f"{self.assignment}.ipynb")

    def autograde(self):
        return nbgrader(["autograde", self.assignment, "--db", self.db, "--force"], cwd=self.path)

    def max_points(self):
        """{test cell id: points} from the source notebook."""
        return cell_points(self.solution)

    def written_answers(self):
        return written_answers(self.solution)

    def conceptual_checks(self):
        return conceptual_checks(self.solution)

    def scores(self, student):
        """{grade cell id: points scored} for one student's autograded notebook."""
        from nbgrader.api import Gradebook

        with Gradebook(self.db) as gb:
            nb = gb.find_submission_notebook(self.assignment, self.assignment, student)
            return {g.name: float(g.score) for g in nb.grades}


def _graded_cells(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def cell_points(nb):
    """{grade cell id: points} of a source notebook, written answers included."""
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"]) for c in _graded_cells(nb)}


def written_answers(nb):
    """Ids of the written answers: markdown cells an instructor grades by hand."""
    return {c.metadata["nbgrader"]["grade_id"] for c in _graded_cells(nb) if c.cell_type == "markdown"}


def conceptual_checks(nb):
    """Ids of the conceptual checks: test cells whose visible part checks only the answer's form."""
    return {c.metadata["nbgrader"]["grade_id"] for c in _graded_cells(nb)
            if c.cell_type == "code" and "check_answer_form(" in c.source}


def auto_points(nb):
    """{grade cell id: points a full answer scores before any manual grade}: 0 for a written answer."""
    written = written_answers(nb)
    return {cell: 0.0 if cell in written else p for cell, p in cell_points(nb).items()}


def solution_cell(nb, grade_id):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def wrong_answers(assignment, folder=WRONG_ANSWERS):
    """The realistic mistakes kept as data in tests/wrong_answers/<assignment>.yaml (or ``folder``)."""
    return yaml.safe_load((Path(folder) / f"{assignment}.yaml").read_text())


def graded_cases(course):
    """[(label, student, notebook, expected {test cell: points})] for the solution, the released
    notebook and every wrong answer of ``course``'s assignment: a cell its case loses scores 0,
    every other cell its full points, and a written answer 0 until an instructor grades it. One
    source of the expectations that nbgrader (test_exercises) and ``mlcourse grade``
    (test_grade_batch) must both meet."""
    points = auto_points(course.solution)
    cases = [("solution as submitted", "solution", course.solution, set()),
             ("released, unchanged", "released", course.released, set(points))]
    cases += [(m["name"], f"mistake{i:02d}", apply_mistake(course.solution, m), set(m["loses"]))
              for i, m in enumerate(wrong_answers(course.assignment))]
    return [(label, student, nb, {cell: 0.0 if cell in loses else p for cell, p in points.items()})
            for label, student, nb, loses in cases]


def assert_visible_tests_catch_most_mistakes(course, cases, rows):
    """At least 90% of the wrong implementations among ``cases`` (those of graded_cases: mistakes that
    lose points, other than in conceptual checks) fail a visible test in the graded ``rows``
    ({student: report row})."""
    conceptual = course.conceptual_checks()
    full = cases[0][3]
    lost = {student: {cell for cell, p in expected.items() if p < full[cell]} for _, student, _, expected in cases}
    wrong = [(label, student) for label, student, _, _ in cases
             if student.startswith("mistake") and lost[student] and not lost[student] <= conceptual]
    unseen = [label for label, student in wrong
              if not any(c["where"] == "visible" for c in json.loads(rows[student]["cells"]) if c["outcome"] == "failed")]
    assert len(unseen) <= 0.1 * len(wrong), \
        f"{len(unseen)} of {len(wrong)} wrong implementations pass every visible test: {unseen}"


def apply_mistake(nb, mistake):
    """Return a copy of ``nb`` with each (old, new) text replacement of ``mistake`` applied."""
    nb = nbformat.from_dict(nb)
    for edit in mistake["edits"]:
        cell = solution_cell(nb, edit["cell"])
        if edit["old"] not in cell.source:
            raise AssertionError(f"{mistake['name']}: {edit['old']!r} is not in cell {edit['cell']}")
        cell.source = cell.source.replace(edit["old"], edit["new"])
    return nb


def independent_solutions(released, kind=""):
    """{author label: notebook} for tests/independent_solutions/02_svm<kind>.yaml: the released
    notebook with each answer cell replaced by that author's source."""
    out = {}
    for item in yaml.safe_load((INDEPENDENT / f"02_svm{kind}.yaml").read_text()):
        nb = nbformat.from_dict(released)
        for cell_id, source in item["cells"].items():
            solution_cell(nb, cell_id).source = source
        out[item["author"].split(":")[0].replace(" ", "_")] = nb
    return out


def write_zip(path, notebooks):
    """A zip of {student: notebook} as an LMS exports it (``export/<student>.ipynb``)."""
    with zipfile.ZipFile(path, "w") as archive:
        for student, nb in notebooks.items():
            archive.writestr(f"export/{student}.ipynb", nbformat.writes(nb))
    return path


def visible_only(nb):
    """``nb`` with the hidden tests of its test cells removed (what a student's copy runs)."""
    from mlcourse.grading.spec import split_hidden

    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = "\n".join(line for line, hidden in split_hidden(cell.source) if not hidden)
    return nb
