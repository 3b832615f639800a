"""How many realistic mistakes the visible tests catch, per assignment: each mistake of
``tests/wrong_answers/<assignment>.yaml`` applied to the solution, its hidden tests removed (what
a student's copy runs), and the notebook run cell by cell (``tests/notebook_cells.py``). A mistake
is caught when a test cell it is meant to lose fails there; it slips through when every visible
test passes and only the hidden tests would take its points.

``--blind`` measures the mistakes of ``benchmarks/blind_mistakes/``, written from the exercise
text by someone who had not seen the tests; the cells each loses are found by running it with the
hidden tests in (one the grade does not see at all is listed and left out).

    python benchmarks/visible_tests.py [ASSIGNMENT ...] [--jobs 2] [--blind]
"""
import argparse
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.course import WRONG_ANSWERS, apply_mistake, visible_only, wrong_answers  # noqa: E402  (the tests' catalogue)

from mlcourse.release import assignments  # noqa: E402


def failing_tests(nb, folder):
    """{test cell id: [error type, message]} of the cells that fail when ``nb`` runs here."""
    path = Path(folder) / "notebook.ipynb"
    nbformat.write(nb, path)
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "notebook_cells.py"), str(path)], cwd=folder,
                          capture_output=True, text=True, timeout=900)
    results = json.loads(done.stdout.strip().splitlines()[-1])
    return {k: v for k, v in results.items() if v is not None and not k.startswith("cell ")}


BLIND = ROOT / "benchmarks" / "blind_mistakes"


def measure(assignment, mistake, blind=False):
    """(assignment, name, the cells it loses that fail visibly, whether it loses any). The cells
    it loses are its ``loses``, or for a blind mistake those that fail with the hidden tests in."""
    solution = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    wrong = apply_mistake(solution, mistake)
    with tempfile.TemporaryDirectory() as folder:
        failed = failing_tests(visible_only(wrong), folder)
        loses = set(failing_tests(wrong, folder)) if blind else set(mistake["loses"])
    return assignment, mistake["name"], sorted(loses & set(failed)), bool(loses)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", nargs="*")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--blind", action="store_true", help="the mistakes written blind, in benchmarks/blind_mistakes/")
    args = parser.parse_args()
    folder = BLIND if args.blind else WRONG_ANSWERS
    jobs = [(a, m) for a in args.assignment or assignments() if (folder / f"{a}.yaml").exists()
            for m in wrong_answers(a, folder)]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda job: measure(*job, blind=args.blind), jobs))
    unseen = [f"{a}: {name}" for a, name, _, graded in results if not graded]
    if unseen:
        print("not counted: " + ("not mistakes the grade sees (every test cell passes with the hidden tests too)"
                                 if args.blind else "correct answers kept as controls (they lose no cell)") + ":")
        print("\n".join(f"  {u}" for u in unseen) + "\n")
    results = [r for r in results if r[3]]
    print("| assignment | mistakes | caught by the visible tests | slip through to the hidden tests |")
    print("| --- | ---: | ---: | --- |")
    for assignment in dict.fromkeys(a for a, _, _, _ in results):
        mine = [r for r in results if r[0] == assignment]
        missed = [name for _, name, caught, _ in mine if not caught]
        print(f"| {assignment} | {len(mine)} | {len(mine) - len(missed)} ({(len(mine) - len(missed)) / len(mine):.0%}) "
              f"| {'; '.join(missed) or '-'} |")
    total, caught = len(results), sum(1 for r in results if r[2])
    print(f"\nall: {caught} of {total} caught ({caught / total:.0%})")


if __name__ == "__main__":
    main()
