"""How many realistic mistakes the visible tests catch, per assignment: each mistake of
``tests/wrong_answers/<assignment>.yaml`` applied to the solution, its hidden tests removed (what
a student's copy runs), and the notebook run cell by cell (``tests/notebook_cells.py``). A mistake
is caught when a test cell it is meant to lose fails there; it slips through when every visible
test passes and only the hidden tests would take its points.

    python benchmarks/visible_tests.py [ASSIGNMENT ...] [--jobs 2]
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
sys.path.insert(0, str(ROOT / "tests"))
from course import apply_mistake, visible_only, wrong_answers  # noqa: E402  (the tests' catalogue of real mistakes)

from mlcourse.release import assignments  # noqa: E402


def failing_tests(nb, folder):
    """{test cell id: [error type, message]} of the cells that fail when ``nb`` runs here."""
    path = Path(folder) / "notebook.ipynb"
    nbformat.write(nb, path)
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "notebook_cells.py"), str(path)], cwd=folder,
                          capture_output=True, text=True, timeout=900)
    results = json.loads(done.stdout.strip().splitlines()[-1])
    return {k: v for k, v in results.items() if v is not None and not k.startswith("cell ")}


def measure(assignment, mistake):
    solution = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    with tempfile.TemporaryDirectory() as folder:
        failed = failing_tests(visible_only(apply_mistake(solution, mistake)), folder)
    return assignment, mistake["name"], sorted(set(mistake["loses"]) & set(failed)), failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", nargs="*")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    jobs = [(a, m) for a in args.assignment or assignments() for m in wrong_answers(a)]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda job: measure(*job), jobs))
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
