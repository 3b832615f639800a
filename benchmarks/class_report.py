"""The class report of a large class: grade a class of 02_svm submissions made from the solution,
each realistic mistake of ``tests/wrong_answers/02_svm.yaml`` and the untouched released
notebook (in turn), sandboxed, with ``grade_class(workers=2)``; then build its report
(``mlcourse report``) three times and keep the best time.

Prints the time to grade, the time to build the report, the page's size, and the numbers the
page shows (statuses, near-copy flags), as text and as one JSON line.

    python benchmarks/class_report.py [--students 200] [--workers 2] [--keep DIR [--reuse]]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.course import apply_mistake, wrong_answers  # noqa: E402  (the tests' catalogue of real mistakes)

from mlcourse.grading import grade_class  # noqa: E402
from mlcourse.grading.class_report import build_report  # noqa: E402
from mlcourse.grading.store import ResultsTable  # noqa: E402
from mlcourse.release import nbgrader  # noqa: E402

A = "02_svm"


def make_class(path, students):
    """A course folder with ``students`` submissions of ``A`` under submitted/<student>/A/."""
    path.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", path)
    shutil.copytree(ROOT / "solutions" / A, path / "solutions" / A)
    nbgrader(["generate_assignment", A, "--db", f"sqlite:///{path}/gradebook.db"], cwd=path)
    solution = nbformat.read(path / "solutions" / A / f"{A}.ipynb", as_version=4)
    released = nbformat.read(path / "exercises" / A / f"{A}.ipynb", as_version=4)
    kinds = [solution] + [apply_mistake(solution, m) for m in wrong_answers(A)] + [released]
    for i in range(students):
        folder = path / "submitted" / f"student{i:03d}" / A
        folder.mkdir(parents=True)
        nbformat.write(kinds[i % len(kinds)], folder / f"{A}.ipynb")
    return len(kinds)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=200, help="submissions in the class (default 200)")
    parser.add_argument("--workers", type=int, default=2, help="workers of grade_class (default 2)")
    parser.add_argument("--keep", metavar="DIR", help="make the course in DIR and keep it (default: a temporary one)")
    parser.add_argument("--reuse", action="store_true", help="with --keep: report on the class graded there before")
    args = parser.parse_args(argv)
    tmp = None if args.keep else tempfile.TemporaryDirectory(prefix="mlcourse-bench-report-")
    course = Path(args.keep or tmp.name) / "course"
    try:
        reuse = args.reuse and (course / "gradebook.db").exists()
        kinds = 2 + len(wrong_answers(A)) if reuse else make_class(course, args.students)
        load = [os.getloadavg()[0]]
        start = time.perf_counter()
        if not reuse:
            grade_class(A, course=course, workers=args.workers, progress=False)
        t_grade = None if reuse else time.perf_counter() - start
        load.append(os.getloadavg()[0])
        times = []
        for _ in range(3):
            start = time.perf_counter()
            path = build_report(A, course=course)
            times.append(time.perf_counter() - start)
        load.append(os.getloadavg()[0])
        table = ResultsTable(f"sqlite:///{course}/gradebook.db")
        rows, flags = table.rows(A), table.flags(A)
        table.close()
        statuses = {}
        for row in rows.values():
            statuses[row["status"]] = statuses.get(row["status"], 0) + 1
        size_kb = path.stat().st_size / 1024
        print(f"class report benchmark: {len(rows)} submissions of {A} (solution, {kinds - 2} mistakes, "
              f"released; in turn), {args.workers} workers, {os.cpu_count()} CPUs")
        graded = "reused" if t_grade is None else f"{t_grade:7.1f} s  {t_grade / len(rows):5.2f} s per submission"
        print(f"  grading (grade_class, sandboxed):  {graded}"
              f"  (statuses: {', '.join(f'{s} {n}' for s, n in sorted(statuses.items()))})")
        print(f"  near-copy flags in the gradebook:  {len(flags)}")
        print(f"  build_report, best of 3:           {min(times):7.2f} s  (all: "
              f"{', '.join(f'{t:.2f}' for t in times)})")
        print(f"  report size:                       {size_kb:7.0f} KB")
        print(f"  load average (1 min) before / after grading / after the reports: "
              f"{' / '.join(f'{x:.1f}' for x in load)}")
        print(json.dumps({"students": len(rows), "workers": args.workers, "grade_s": t_grade and round(t_grade, 1),
                          "report_s": round(min(times), 3), "report_kb": round(size_kb, 1), "flags": len(flags),
                          "statuses": statuses, "load": load}))
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
