"""Which part of a class one grader takes: ``--shard I/N``, or ``--shard auto`` from the job
array a cluster's scheduler started (Slurm, or a Kubernetes Indexed Job)."""
import hashlib
import os
import re

from ..errors import BadInput

SHARD_COUNT = "MLCOURSE_SHARD_COUNT"  # set by a Kubernetes Job manifest to its `completions`


def parse_shard(text):
    """'I/N' -> (I, N) with 1 <= I <= N; 'auto' stays 'auto' (see ``shard_from_env``)."""
    if str(text).strip().lower() == "auto":
        return "auto"
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise BadInput(f"--shard expects I/N with 1 <= I <= N (e.g. 2/3) or auto, got {text!r}")
    return int(match.group(1)), int(match.group(2))


def _number(env, name):
    try:
        return int(env[name])
    except ValueError:
        raise BadInput(f"--shard auto: {name}={env[name]!r} is not a whole number") from None


def shard_from_env(env=None):
    """(I, N) of this task of a job array: Slurm's ``SLURM_ARRAY_TASK_ID`` counted from
    ``SLURM_ARRAY_TASK_MIN`` in steps of ``SLURM_ARRAY_TASK_STEP`` out of ``SLURM_ARRAY_TASK_COUNT``,
    or a Kubernetes Indexed Job's ``JOB_COMPLETION_INDEX`` out of ``MLCOURSE_SHARD_COUNT``."""
    env = os.environ if env is None else env
    if "SLURM_ARRAY_TASK_ID" in env:
        missing = [v for v in ("SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT") if v not in env]
        if missing:
            raise BadInput(f"--shard auto: SLURM_ARRAY_TASK_ID is set but {', '.join(missing)} is not; "
                             "run the grader as a task of a job array (sbatch --array=...)")
        task, first = _number(env, "SLURM_ARRAY_TASK_ID"), _number(env, "SLURM_ARRAY_TASK_MIN")
        step = _number(env, "SLURM_ARRAY_TASK_STEP") if "SLURM_ARRAY_TASK_STEP" in env else 1
        index, count = (task - first) // max(step, 1), _number(env, "SLURM_ARRAY_TASK_COUNT")
        where = f"SLURM_ARRAY_TASK_ID={task} (from {first}, step {step}) of SLURM_ARRAY_TASK_COUNT={count}"
    elif "JOB_COMPLETION_INDEX" in env:
        if SHARD_COUNT not in env:
            raise BadInput(f"--shard auto: JOB_COMPLETION_INDEX is set but {SHARD_COUNT} is not; set it in the "
                             "Job manifest to the Job's completions (see the README)")
        index, count = _number(env, "JOB_COMPLETION_INDEX"), _number(env, SHARD_COUNT)
        where = f"JOB_COMPLETION_INDEX={index} of {SHARD_COUNT}={count}"
    else:
        raise BadInput("--shard auto needs a job array: SLURM_ARRAY_TASK_ID (Slurm, sbatch --array) or "
                         f"JOB_COMPLETION_INDEX with {SHARD_COUNT} (a Kubernetes Indexed Job); neither is set")
    if not 0 <= index < count:
        raise BadInput(f"--shard auto: {where} is not a task of the array (a gap in --array? use 0-{count - 1})")
    return index + 1, count


def resolve_shard(shard, env=None):
    """None, (I, N), or 'auto' -> None or (I, N)."""
    return shard_from_env(env) if shard == "auto" else shard


def in_shard(student, shard):
    """Whether ``student`` belongs to ``shard`` (I, N): a stable hash of the id, so any machine
    agrees and the N shards are disjoint and cover everyone."""
    if shard is None:
        return True
    index, count = shard
    return int(hashlib.sha256(student.encode()).hexdigest()[:12], 16) % count == index - 1
