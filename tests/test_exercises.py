"""Exercises end to end with the real nbgrader CLI: released copies match a fresh generation
and hold nothing of the answer key; under plain nbgrader the solutions score full marks and the
released notebooks 0. That each realistic mistake loses exactly its cells is checked where the
course grades, by ``mlcourse grade`` (test_judged_scores.py, test_grade_batch.py)."""
import json
import re

import nbformat
import pytest
import yaml

from tests.course import Course, graded_cases
from mlcourse.course import LANGUAGES
from mlcourse.release import RECORD, STUBS, assignments, differences, generate, released_checksums

ASSIGNMENTS = assignments()
KEY_MARKERS = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_copy_matches_fresh_generation(assignment, language, root, tmp_path):
    released = root / ("" if language == "en" else language) / "exercises"
    fresh = generate(assignment, tmp_path / assignment, language=language)
    assert differences(released / assignment, fresh) == [], \
        f"{released / assignment} is stale: run `make` to regenerate it"
    record = json.loads((released / RECORD).read_text())
    mine = {k: v for k, v in record.items() if k.startswith(f"{assignment}/")}
    assert mine == released_checksums(released / assignment), \
        f"{released / RECORD} (committed, so that no clone takes released files for edited ones) is stale: run `make`"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_copy_holds_no_answer_key(assignment, language, root):
    released = root / ("" if language == "en" else language) / "exercises" / assignment
    for path in released.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert not KEY_MARKERS.search(text), f"{path} contains a solution or hidden-test marker"
    nb = nbformat.read(released / f"{assignment}.ipynb", as_version=4)
    stubs = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert stubs and all("raise NotImplementedError" in c.source for c in stubs if c.cell_type == "code")
    assert all(c.source == STUBS[language]["markdown"] for c in stubs if c.cell_type == "markdown"), \
        "a written answer is released blank, its model answer and rubric left out"
    assert nb.metadata.get("mlcourse", {}) == ({} if language == "en" else {"language": language}), \
        "a released notebook keeps only its language of the grader's metadata"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_book_lists_every_assignment(language, root):
    """The toc's exercise part lists every assignment in order, and the front page and some
    chapter's Exercises section each link it."""
    edition = root / ("" if language == "en" else language)
    toc = yaml.safe_load((edition / "_toc.yml").read_text())
    listed = [e["file"] for part in toc["parts"] for e in part["chapters"] if e["file"].startswith("exercises/")]
    assert listed == [f"exercises/{a}/{a}" for a in ASSIGNMENTS], f"{edition / '_toc.yml'} lists {listed}"
    front = (edition / "book" / "index.md").read_text()
    chapters = "".join(p.read_text() for p in (edition / "book").glob("*.md") if p.name != "index.md")
    for a in ASSIGNMENTS:
        link = f"{{doc}}`../exercises/{a}/{a}`"
        assert link in front, f"{edition / 'book' / 'index.md'} does not link the exercise {a}"
        assert link in chapters, f"no chapter of {edition / 'book'} links the exercise {a} in its Exercises section"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_autograde_scores(assignment, tmp_path):
    course = Course(tmp_path, assignment)
    cases = [case for case in graded_cases(course) if case[1] in ("solution", "released")]
    for _, student, nb, _ in cases:
        course.submit(student, nb)
    course.autograde()

    rows, failures = [], []
    for label, student, _, expected in cases:
        actual = course.scores(student)
        actual = {cell: actual[cell] for cell in expected}
        rows.append(f"  {label:<55} expected {sum(expected.values()):5.1f}  got {sum(actual.values()):5.1f}")
        if actual != expected:
            failures.append(f"{label}: expected per cell {expected}, got {actual}")
    print(f"\n{assignment}: expected vs actual points\n" + "\n".join(rows))
    assert not failures, "\n".join(failures)
