"""Which part of a class one grader takes: ``--shard I/N`` is checked, the shards are disjoint
and cover everyone, and ``--shard auto`` reads a Slurm job array or a Kubernetes Indexed Job and
says what is missing."""
import pytest

from mlcourse.grading import shard


@pytest.mark.parametrize("text", ["0/3", "4/3", "a/b", "2", "1/0"])
def test_parse_shard_rejects(text):
    with pytest.raises(ValueError, match="I/N"):
        shard.parse_shard(text)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_shards_are_disjoint_and_cover_everyone(n):
    students = [f"s{i:03d}" for i in range(200)]
    shards = [{s for s in students if shard.in_shard(s, (i, n))} for i in range(1, n + 1)]
    assert sum(len(s) for s in shards) == len(students) and set().union(*shards) == set(students)
    assert all(shards), "every shard should get some of 200 students"
    assert shard.parse_shard(f"{n}/{n}") == (n, n)


@pytest.mark.parametrize("env, expected", [
    ({"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "5", "SLURM_ARRAY_TASK_COUNT": "4"}, (3, 4)),
    ({"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "2",
      "SLURM_ARRAY_TASK_COUNT": "3"}, (3, 3)),
    ({"JOB_COMPLETION_INDEX": "0", "MLCOURSE_SHARD_COUNT": "2"}, (1, 2)),
])
def test_shard_auto_reads_the_job_array(env, expected):
    assert shard.parse_shard("auto") == "auto"
    assert shard.resolve_shard("auto", env) == expected and shard.resolve_shard((1, 2), env) == (1, 2)


@pytest.mark.parametrize("env, message", [
    ({}, "neither is set"),
    ({"SLURM_ARRAY_TASK_ID": "3"}, "SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_COUNT is not"),
    ({"SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "4"}, "not a task"),
    ({"JOB_COMPLETION_INDEX": "1"}, "MLCOURSE_SHARD_COUNT is not"),
    ({"JOB_COMPLETION_INDEX": "x", "MLCOURSE_SHARD_COUNT": "2"}, "not a whole number"),
])
def test_shard_auto_says_what_is_missing(env, message):
    with pytest.raises(ValueError, match=message):
        shard.shard_from_env(env)
