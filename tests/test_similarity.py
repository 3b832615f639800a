"""Near-copies flagged by winnowing (copydetect): a copy of 02_svm's answer key is caught however
it is renamed, reordered and commented, and so is one student copying another; three correct
solutions written independently of the key (tests/independent_solutions/) are not flagged."""
import copy

import nbformat
from nbgrader.preprocessors import ClearSolutions

from tests.course import independent_solutions
from mlcourse.answer_key import listed, resolve
from mlcourse.course import CourseContext
from mlcourse.grading.similarity import REFERENCE, THRESHOLD, answer_text, find_copies, reference_texts

A = "02_svm"


def svm(root):
    source = nbformat.read(root / "solutions" / A / f"{A}.ipynb", as_version=4)
    released = nbformat.read(root / "exercises" / A / f"{A}.ipynb", as_version=4)
    stubs, _ = ClearSolutions(config=CourseContext(root).config).preprocess(copy.deepcopy(source), {})
    return source, released, reference_texts(source, [resolve(n) for n in listed(source)]), answer_text(stubs)


def renamed(text, names):
    for old, new in names:
        text = text.replace(old, new)
    return text


def test_copies_of_the_key_are_flagged_and_independent_work_is_not(root):
    source, released, reference, boilerplate = svm(root)
    assert boilerplate == answer_text(released)  # the stubs nbgrader releases
    answers = {name: answer_text(nb) for name, nb in independent_solutions(released).items()}
    answers["disguised"] = answer_text(next(iter(independent_solutions(released, "_disguised").values())))
    answers["verbatim"] = answer_text(source)
    answers["renamed"] = renamed(answer_text(source), [("loss", "cost"), ("margin", "hinge"), ("scores", "z"),
                                                         ("dW", "gradient"), ("coeff", "weights"), ("rows", "r")])
    answers["blank"] = answer_text(released)
    flags = find_copies(answers, reference, boilerplate)
    of_key = {f.student: f.similarity for f in flags if f.other == REFERENCE}
    assert set(of_key) == {"disguised", "verbatim", "renamed"}, flags
    assert all(f.similarity >= THRESHOLD for f in flags)
    pairs = {(f.student, f.other) for f in flags if f.other != REFERENCE}
    assert pairs == {(a, b) for a in ("disguised", "verbatim", "renamed") for b in ("disguised", "verbatim", "renamed")
                     if a != b}


def test_one_student_copying_another_is_flagged_both_ways(root):
    _, released, reference, boilerplate = svm(root)
    answers = {name: answer_text(nb) for name, nb in independent_solutions(released).items()}
    answers["copier"] = renamed(answers["student_B"], [("active", "on"), ("margins", "m"), ("scores", "s"),
                                                        ("grad", "g"), ("loss", "total")])
    answers["copier"] = "# my own work\n" + answers["copier"].replace("\n\n", "\n\n# next\n")
    flags = find_copies(answers, reference, boilerplate)
    assert {(f.student, f.other) for f in flags} == {("copier", "student_B"), ("student_B", "copier")}, flags
