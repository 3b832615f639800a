"""Each assignment's solution notebook: the time its cells take to run (target < 30 s on 2 cores)
and the time ``mlcourse grade`` takes to grade it as one submission on one worker, sandboxed and
judged, kernel start included (target < 45 s). Checks that the graded solution scores full marks
on its auto-graded cells.

    python benchmarks/exercises.py [ASSIGNMENT ...] [--language zh_CN]
"""
import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.course import Course, auto_points  # noqa: E402  (a throw-away nbgrader course)

from mlcourse.grading import autograde  # noqa: E402
from mlcourse.release import assignments  # noqa: E402


def run_seconds(source):
    """Wall seconds to run every cell of the notebook ``source`` in a copy of its folder."""
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        folder = Path(tmp) / source.parent.name
        shutil.copytree(source.parent, folder)
        nb = nbformat.read(folder / source.name, as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
        return time.perf_counter() - start


def grade_seconds(assignment, source):
    """(wall seconds, auto points scored, auto points possible) of grading ``source`` as one submission."""
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
        course = Course(Path(tmp), assignment)
        auto = sum(auto_points(course.solution).values())
        start = time.perf_counter()
        result = autograde(source, assignment, course=course.path)
        return time.perf_counter() - start, result.score, auto


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--language", default="en", choices=["en", "zh_CN"])
    args = parser.parse_args()
    edition = ROOT / ("" if args.language == "en" else args.language) / "solutions"
    print("| assignment | cells run s | graded on one worker s | score |")
    print("| --- | ---: | ---: | ---: |")
    for a in args.assignments or assignments(ROOT):
        source = edition / a / f"{a}.ipynb"
        ran = run_seconds(source)
        graded, score, auto = grade_seconds(a, source)
        mark = "" if score == auto else " (not full marks)"
        print(f"| {a} | {ran:.1f} | {graded:.1f} | {score:g} / {auto:g}{mark} |", flush=True)


if __name__ == "__main__":
    main()
