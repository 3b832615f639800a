"""Several machines, one gradebook: a real PostgreSQL server (Debian's package, started here
in a private folder as the ``postgres`` user, on a Unix socket only) and a job array of three
graders with ``--shard auto`` (two Slurm tasks, one Kubernetes index), one killed at its first
grade and run again. Every student is graded by exactly one of them, each grade is in the
gradebook exactly once, the report of the merged gradebook counts everyone, and a later
unsharded run has nothing to do."""
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from tests.course import ROOT, SANDBOX_GRADING, apply_mistake, auto_points, written_answers, wrong_answers
from mlcourse.grading import grade_class
from mlcourse.grading.class_report import build_report
from mlcourse.grading.item_stats import cell_stats
from mlcourse.grading.shard import in_shard
from mlcourse.release import tool_env

A = "02_svm"
PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _has_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


pytestmark = [
    pytest.mark.slow,
    SANDBOX_GRADING,
    pytest.mark.skipif(not PG_BIN or not _has_user("postgres"),
                       reason="PostgreSQL server not installed (`make system-deps`)"),
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None,
                       reason="starting a private PostgreSQL as the postgres user needs root and runuser"),
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed (`make system-deps`)"),
]


def as_postgres(*args):
    subprocess.run(["runuser", "-u", "postgres", "--", *map(str, args)], check=True, capture_output=True, timeout=120)


@pytest.fixture
def postgres():
    """The SQLAlchemy URL of a fresh database on a throw-away server, stopped and removed after."""
    pg, home = Path(PG_BIN[-1]), Path(tempfile.mkdtemp(prefix="mlcourse-pg-", dir="/tmp"))
    os.chmod(home, 0o755)
    shutil.chown(home, "postgres", "postgres")
    data = home / "data"
    try:
        as_postgres(pg / "initdb", "-D", data, "--auth=trust", "-U", "postgres", "-E", "UTF8")
        as_postgres(pg / "pg_ctl", "-D", data, "-l", home / "log", "-w", "-o",
                    f"-k {home} -p 5432 -c listen_addresses=''", "start")
        as_postgres(pg / "createdb", "-h", home, "-p", "5432", "grades")
        yield f"postgresql+psycopg2://postgres@/grades?host={home}&port=5432"
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", str(pg / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], capture_output=True, timeout=60)
        shutil.rmtree(home, ignore_errors=True)


SHARDS = 3
JOB_ARRAYS = [  # the variables Slurm (an array started at 3) and a Kubernetes Indexed Job set
    {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "3", "SLURM_ARRAY_TASK_COUNT": str(SHARDS)},
    {"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "3", "SLURM_ARRAY_TASK_COUNT": str(SHARDS)},
    {"JOB_COMPLETION_INDEX": "2", "MLCOURSE_SHARD_COUNT": str(SHARDS)},
]
STUDENTS = ["ada", "bo", "cy", "di", "ed", "flo", "gus", "hal", "ivy", "jo", "kit", "lu"]


def grader(course, postgres, job, output):
    env = {k: v for k, v in tool_env().items() if not k.startswith(("SLURM_", "JOB_COMPLETION"))}
    return subprocess.Popen([sys.executable, "-m", "mlcourse", "grade", A, "--course", str(course), "--db", postgres,
                             "--shard", "auto", "--output", str(output), "--quiet"],
                            env={**env, **job}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def recorded(postgres, students):
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres)
    try:
        with engine.connect() as conn:
            return {s for (s,) in conn.execute(text("SELECT student FROM mlcourse_grading")) if s in students}
    except Exception:  # the table is not there yet
        return set()
    finally:
        engine.dispose()


def test_job_array_of_graders_into_postgres_survives_a_killed_task(postgres, tmp_path):
    course = tmp_path / "course"  # the course needs only its config and source: the gradebook is PostgreSQL
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / A, course / "solutions" / A)
    solution = nbformat.read(course / "solutions" / A / f"{A}.ipynb", as_version=4)
    notebooks = {"ada": (solution, set())}
    for name, mistake in zip(STUDENTS[1:], wrong_answers(A)):
        notebooks[name] = (apply_mistake(solution, mistake), set(mistake["loses"]))
    for student, (nb, _) in notebooks.items():
        folder = course / "submitted" / student / A
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{A}.ipynb")
    shards = {i: {s for s in notebooks if in_shard(s, (i, SHARDS))} for i in range(1, SHARDS + 1)}
    assert all(shards.values()) and len(shards[SHARDS]) >= 3, shards

    doomed = grader(course, postgres, JOB_ARRAYS[-1], tmp_path / "killed.csv")
    while not recorded(postgres, shards[SHARDS]) and doomed.poll() is None:
        time.sleep(0.1)
    doomed.send_signal(signal.SIGKILL)  # the task dies at its first grade, as a preempted job would
    doomed.wait(timeout=60)
    before = recorded(postgres, shards[SHARDS])
    assert 1 <= len(before) < len(shards[SHARDS]), "the task should be killed in the middle of its shard"

    tasks = [grader(course, postgres, job, tmp_path / f"shard{i}.csv") for i, job in enumerate(JOB_ARRAYS, 1)]
    outputs = [task.communicate(timeout=600)[0] for task in tasks]  # the array again, the killed task rerun
    assert [t.returncode for t in tasks] == [0] * SHARDS, outputs
    assert f"{len(shards[SHARDS]) - len(before)} graded now, {len(before)} unchanged" in outputs[-1]
    graded = {i: {line.split(",")[0] for line in (tmp_path / f"shard{i}.csv").read_text().splitlines()[1:]}
              for i in shards}
    assert graded == shards

    from nbgrader.api import Gradebook
    from sqlalchemy import create_engine, text

    points = auto_points(solution)  # a written answer: 0 until a person grades it
    with Gradebook(postgres) as gb:
        assert sorted(s.id for s in gb.students) == sorted(notebooks)
        for student, (_, loses) in notebooks.items():
            got = {g.name: float(g.score) for g in gb.find_submission_notebook(A, A, student).grades}
            assert got == {c: 0.0 if c in loses else p for c, p in points.items()}, student
    engine = create_engine(postgres)
    with engine.connect() as conn:
        counts = dict(conn.execute(text("SELECT student, COUNT(*) FROM mlcourse_grading GROUP BY student")).all())
        submissions = conn.execute(text("SELECT COUNT(*) FROM submitted_assignment")).scalar()
        grades = conn.execute(text("SELECT COUNT(*) FROM grade")).scalar()
    engine.dispose()
    assert counts == {s: 1 for s in notebooks} and submissions == len(notebooks) and grades == len(points) * len(notebooks)

    merged = grade_class(A, course=course, db=postgres, output=tmp_path / "all.csv", progress=False)
    assert (merged.ran, merged.skipped, len(merged.rows)) == (0, len(notebooks), len(notebooks))
    stats = {c.name: c for c in cell_stats(merged.rows)}  # the report of the merged gradebook
    for cell in set(points) - written_answers(solution):
        most = points[cell]
        passing = sum(cell not in loses for _, loses in notebooks.values())
        assert (stats[cell].n, stats[cell].passed) == (len(notebooks), passing), cell
        assert stats[cell].mean_points == pytest.approx(most * passing / len(notebooks))
    page = build_report(A, course=course, db=postgres, output=tmp_path / "report.html").read_text()
    assert f"{len(notebooks)} students" in page and all(s in page for s in notebooks)
