"""Grading a class: plain sequential ``nbgrader autograde`` against ``mlcourse grade --workers 2``,
side by side in one run, on copies of real SVM submissions (the solution, each realistic
mistake, the untouched released notebook), each in its own copy of one course.

Prints both wall times, the speedup (target >= 1.8x on 2 cores), the per-submission overhead
of ``mlcourse grade`` beyond the notebooks' own run time (target < 2 s; worker-seconds per
submission minus the mean time the cells ran), and checks that every per-cell score is the same.

    python benchmarks/grading.py [--copies 40] [--workers 2]
"""
import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.course import apply_mistake, wrong_answers  # noqa: E402  (the tests' catalogue of real mistakes)

from mlcourse.release import nbgrader, tool_env  # noqa: E402

A = "02_svm"


def make_course(path):
    """A course folder with the assignment in its gradebook, as `nbgrader generate_assignment` leaves it."""
    path.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", path)
    shutil.copytree(ROOT / "solutions" / A, path / "solutions" / A)
    nbgrader(["generate_assignment", A, "--db", f"sqlite:///{path}/gradebook.db"], cwd=path)
    return path


def submissions(course, copies):
    solution = nbformat.read(course / "solutions" / A / f"{A}.ipynb", as_version=4)
    released = nbformat.read(course / "exercises" / A / f"{A}.ipynb", as_version=4)
    kinds = [solution] + [apply_mistake(solution, m) for m in wrong_answers(A)] + [released]
    return {f"student{i:03d}": kinds[i % len(kinds)] for i in range(copies)}


def scores(course, students):
    """{(student, test cell): points} from nbgrader's gradebook of ``course``."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        return {(s, g.name): float(g.score) for s in students for g in gb.find_submission_notebook(A, A, s).grades}


def timed(cmd, cwd):
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=tool_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=40, help="submissions to grade (default 40)")
    parser.add_argument("--workers", type=int, default=2, help="workers of mlcourse grade (default 2)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mlcourse-bench-") as tmp:
        plain = make_course(Path(tmp) / "plain")
        ours = Path(tmp) / "ours"
        shutil.copytree(plain, ours)
        notebooks = submissions(plain, args.copies)
        for course in (plain, ours):
            for student, nb in notebooks.items():
                folder = course / "submitted" / student / A
                folder.mkdir(parents=True)
                nbformat.write(nb, folder / f"{A}.ipynb")

        load = [os.getloadavg()[0]]
        t_plain = timed([sys.executable, "-m", "nbgrader", "autograde", A], plain)
        load.append(os.getloadavg()[0])
        t_ours = timed([sys.executable, "-m", "mlcourse", "grade", A, "--workers", str(args.workers), "--quiet"],
                       ours)
        load.append(os.getloadavg()[0])

        with sqlite3.connect(ours / "gradebook.db") as db:
            runs = [r for (r,) in db.execute("SELECT run_seconds FROM mlcourse_grading") if r]
            statuses = sorted({s for (s,) in db.execute("SELECT status FROM mlcourse_grading")})
        mean_run = sum(runs) / len(runs)
        overhead = args.workers * t_ours / args.copies - mean_run
        expected = scores(plain, notebooks)
        same = expected == scores(ours, notebooks)
        n = args.copies
        print(f"grading benchmark: {n} submissions of {A} "
              f"(solution, {len(wrong_answers(A))} mistakes, released; repeated)")
        print(f"  nbgrader autograde, sequential:  {t_plain:7.1f} s  {t_plain / n:5.2f} s per submission")
        print(f"  mlcourse grade --workers {args.workers}:      {t_ours:7.1f} s  {t_ours / n:5.2f} s per submission"
              f"  (statuses: {', '.join(statuses)})")
        print(f"  speedup: {t_plain / t_ours:.2f}x  (target >= 1.8x on 2 cores)")
        print(f"  notebook run time (its cells), mean: {mean_run:.2f} s")
        print(f"  overhead per submission beyond that: {overhead:.2f} s  (target < 2 s; "
              f"{args.workers} workers x wall / {n} - mean run time)")
        print(f"  per-cell scores identical to nbgrader: {'yes' if same else 'NO'} ({len(expected)} grades)")
        print(f"  load average (1 min) before / between / after: {' / '.join(f'{x:.1f}' for x in load)} "
              f"on {os.cpu_count()} CPUs")
        if not same:
            got = scores(ours, notebooks)
            diff = {k: (v, got.get(k)) for k, v in expected.items() if got.get(k) != v}
            print("  differences (nbgrader, ours):", diff)
        print(json.dumps({"copies": n, "workers": args.workers, "nbgrader_s": round(t_plain, 2),
                          "ours_s": round(t_ours, 2),
                          "speedup": round(t_plain / t_ours, 3), "mean_run_s": round(mean_run, 3),
                          "overhead_s": round(overhead, 3), "identical": same,
                          "load": load}))
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
