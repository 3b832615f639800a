"""The SVM course the grading end-to-end tests share: released once per session with the real
nbgrader, copied per test, and the edits the tests make to its solution."""
import shutil
from pathlib import Path

import pytest

from tests.course import Course, apply_mistake

A = "02_svm"


class Clone(Course):
    """A copy of a set-up course (released, gradebook built), without running nbgrader again."""

    def __init__(self, source, path):
        shutil.copytree(source.path, path)
        self.path, self.assignment = Path(path), source.assignment
        self.db = f"sqlite:///{self.path / 'gradebook.db'}"


@pytest.fixture(scope="session")
def base(tmp_path_factory):
    return Course(tmp_path_factory.mktemp("course"), A)


def edit(nb, cell, old, new):
    return apply_mistake(nb, {"name": f"edit {cell}", "edits": [{"cell": cell, "old": old, "new": new}]})


def prepend(nb, cell, code):
    first = {"svm_loss_naive": "    N, C = X.shape[0], W.shape[1]", "svm_loss_vectorized": "    N = X.shape[0]",
             "sgd_step": "    loss, dW = loss_fn(W, X_batch, y_batch, reg)"}[cell]
    return edit(nb, cell, first, code + first)


def index_of(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def gradebook_scores(db, students):
    from nbgrader.api import Gradebook

    with Gradebook(db) as gb:
        return {s: {g.name: float(g.score) for g in gb.find_submission_notebook(A, A, s).grades} for s in students}
