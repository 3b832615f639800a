"""Several machines, one gradebook: a real PostgreSQL server (Debian's package, started here
in a private folder as the ``postgres`` user, on a Unix socket only) and two graders started
at once with ``--shard 1/2`` and ``--shard 2/2``. Every student is graded by exactly one of
them, each grade is in the gradebook exactly once, and a later unsharded run has nothing to do."""
import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from course import ROOT, SANDBOX_GRADING, apply_mistake, wrong_answers
from mlcourse.grading import grade_class
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


def test_two_sharded_graders_at_once_into_postgres(postgres, tmp_path):
    course = tmp_path / "course"  # the course needs only its config and source: the gradebook is PostgreSQL
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / A, course / "solutions" / A)
    solution = nbformat.read(course / "solutions" / A / f"{A}.ipynb", as_version=4)
    mistakes = wrong_answers(A)
    notebooks = {"ada": (solution, set())}
    for i, (name, mistake) in enumerate(zip(["bo", "cy", "di", "ed", "flo"], mistakes)):
        notebooks[name] = (apply_mistake(solution, mistake), set(mistake["loses"]))
    for student, (nb, _) in notebooks.items():
        folder = course / "submitted" / student / A
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{A}.ipynb")
    shards = {i: {s for s in notebooks if in_shard(s, (i, 2))} for i in (1, 2)}
    assert shards[1] and shards[2], "both shards should get students"

    graders = [subprocess.Popen([sys.executable, "-m", "mlcourse.grading.cli", A, "--course", str(course),
                                 "--db", postgres, "--shard", f"{i}/2", "--output", str(tmp_path / f"shard{i}.csv"),
                                 "--quiet"],
                                env=tool_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for i in (1, 2)]  # both at once, both registering the assignment and writing grades
    for grader in graders:
        out, _ = grader.communicate(timeout=600)
        assert grader.returncode == 0, out

    graded = {i: {line.split(",")[0] for line in (tmp_path / f"shard{i}.csv").read_text().splitlines()[1:]}
              for i in (1, 2)}
    assert graded == shards and not graded[1] & graded[2]

    from nbgrader.api import Gradebook
    from sqlalchemy import create_engine, text

    points = {"test_svm_loss_naive": 3.0, "test_svm_loss_vectorized": 3.0, "test_sgd_step": 2.0}
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
    assert counts == {s: 1 for s in notebooks} and submissions == len(notebooks) and grades == 3 * len(notebooks)

    merged = grade_class(A, course=course, db=postgres, output=tmp_path / "all.csv", progress=False)
    assert (merged.ran, merged.skipped, len(merged.rows)) == (0, len(notebooks), len(notebooks))
