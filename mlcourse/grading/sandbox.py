"""The grading sandbox: a notebook kernel run by bubblewrap (``bwrap``) as an unprivileged user.

Inside the sandbox the kernel sees a read-only view of the system, of this Python and of the
``mlcourse`` package, plus one private writable folder (its scratch copy of the submission);
nothing of the course (solutions, gradebook, config, other submissions) is mounted. It has no
network (a private network namespace), its own process namespace, and resource limits:

- wall time: the caller kills the whole process group, and with it the sandbox's process namespace;
- CPU time, memory (data segment of each process), file size: ``setrlimit`` via ``prlimit``;
- processes: ``RLIMIT_NPROC``, which binds only a non-root user, so each grading worker claims
  its own spare uid (``UidLease``) and ``setpriv`` drops to it inside the sandbox.

Only cell code reaches the kernel, over jupyter's IPC transport in the scratch folder; the
notebook with the hidden tests stays outside.
"""
import contextlib
import fcntl
import math
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

import mlcourse

from ..errors import BadInput, CourseError

UID_RANGE = range(61000, 61500)
UID_LOCKS = Path("/tmp/mlcourse-sandbox-uids")
RUN_DIRS = Path("/tmp")  # each submission runs in a short-named folder here (IPC socket paths are short)
RUN_PREFIX = "mlg-"
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
NO_SANDBOX_WARNING = (
    "WARNING: --no-sandbox: student code runs with YOUR rights. It can read solutions/, the "
    "gradebook and other students' work, write anywhere you can and use the network. Grade "
    "this way only notebooks you trust.")


class SandboxUnavailable(CourseError, RuntimeError):
    """The sandbox cannot start on this machine; the message says why and what to do."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission.

    timeout: wall-clock seconds for all of a notebook's cells (the kernel start is not counted);
    memory_mb: data segment (heap and anonymous mappings) of each process, in MiB;
    cpu_seconds: CPU time of each process (default: ``timeout`` + 10);
    processes: processes and threads of the sandbox user together;
    file_mb: largest file the notebook may write, in MiB;
    output_mb: text and data the notebook may send back (printing), in MiB.
    """
    timeout: float = 120.0
    memory_mb: int = 2048
    cpu_seconds: float | None = None
    processes: int = 64
    file_mb: int = 256
    output_mb: int = 32

    def __post_init__(self):
        for name in ("timeout", "memory_mb", "processes", "file_mb", "output_mb"):
            value = getattr(self, name)
            if not value or value <= 0:
                raise BadInput(f"limit {name} must be a positive number, got {value!r}")
        if self.cpu_seconds is not None and self.cpu_seconds <= 0:
            raise BadInput(f"limit cpu_seconds must be positive, got {self.cpu_seconds!r}")

    @property
    def cpu(self):
        """CPU seconds for ``prlimit``, rounded up: a limit of 0 would kill the kernel at once."""
        return math.ceil(self.cpu_seconds if self.cpu_seconds is not None else self.timeout + 10)


def kernel_environment(home, extra=None):
    """Environment of a grading kernel: no GPUs, one BLAS thread (workers run side by side)."""
    env = {
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home), "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8",
        "TMPDIR": "/tmp", "MPLCONFIGDIR": str(Path(home) / ".matplotlib"),
        "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1", "NBGRADER_EXECUTION": "autograde",
    }
    env.update(extra or {})
    return env


def readonly_paths():
    """Folders the kernel needs to read: this Python, its environment and the mlcourse package."""
    paths = [Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
             Path(mlcourse.__file__).resolve().parent]
    system = tuple(Path(p) for p in SYSTEM_DIRS)
    out = []
    for path in paths:
        if any(path == s or s in path.parents for s in system + tuple(out)):
            continue
        out.append(path)
    return out


def _mkdirs(target, made):
    """bwrap arguments that create the missing parents of ``target`` world-readable."""
    args = []
    for parent in reversed(Path(target).parents):
        if str(parent) != "/" and parent not in made:
            made.add(parent)
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def bwrap_command(cmd, rundir, cwd, uid, limits, env, package=None):
    """The command line that runs ``cmd`` in the sandbox as ``uid`` with ``limits``.

    ``rundir`` is bound read-write at its own path (IPC sockets, connection file, scratch, home);
    ``package``, when given, is a folder mounted in place of the mlcourse package (the student
    package of a judged assignment, which holds no answer key).
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, so student code cannot be sandboxed. Install it "
            "(`make system-deps`, or `apt-get install bubblewrap`), or pass --no-sandbox to grade "
            "trusted notebooks without it.")
    mb = 1024 * 1024
    args = [shutil.which("prlimit") or "prlimit", f"--cpu={limits.cpu}:{limits.cpu + 1}",
            f"--data={limits.memory_mb * mb}", f"--fsize={limits.file_mb * mb}",
            f"--nproc={limits.processes}", "--core=0", "--", bwrap,
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--hostname", "sandbox"]
    made = set()
    for name in SYSTEM_DIRS:
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    # the private /tmp first: this Python or the course may live below /tmp, and their
    # read-only binds must land on top of it, not be hidden by it
    args += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(64 * mb), "--tmpfs", "/tmp",
             "--perms", "1777", "--size", str(64 * mb), "--tmpfs", "/dev/shm"]
    own = Path(mlcourse.__file__).resolve().parent
    for path in readonly_paths():
        source = package if package is not None and path == own else path
        args += _mkdirs(path, made) + ["--ro-bind", str(source), str(path)]
    if package is not None and own not in readonly_paths():  # the package lies inside this Python's folders
        args += ["--ro-bind", str(package), str(own)]
    args += _mkdirs(rundir, made) + ["--bind", str(rundir), str(rundir), "--chdir", str(cwd), "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    args += ["--", shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}",
             "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    return args + list(cmd)


class UidLease:
    """A spare uid held for this process's lifetime (a lock file per uid), so that the process
    limit of one sandbox never counts another's processes."""

    def __init__(self):
        UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
        for uid in UID_RANGE:
            try:
                pwd.getpwuid(uid)
                continue  # a real account: leave it alone
            except KeyError:
                pass
            handle = open(UID_LOCKS / f"{uid}.lock", "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            self.uid, self._handle = uid, handle
            kill_user(uid)  # leftovers of a grader that was killed: its processes and run folders
            for folder in RUN_DIRS.glob(f"{RUN_PREFIX}*"):
                with contextlib.suppress(OSError):
                    if folder.stat().st_uid == uid:
                        shutil.rmtree(folder, ignore_errors=True)
            return
        raise SandboxUnavailable(f"no spare uid in {UID_RANGE.start}..{UID_RANGE.stop - 1} for the sandbox")

    def release(self):
        kill_user(self.uid)
        self._handle.close()


def user_processes(uid):
    """Process ids whose real uid is ``uid``."""
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as fh:
                for line in fh:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            pids.append(int(entry.name))
                        break
        except OSError:
            continue
    return pids


def _start_time(pid):
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[19])


def kill_forks(uid):
    """Kill every process of ``uid`` but the oldest (the kernel, which all others forked from)."""
    ages = []
    for pid in user_processes(uid):
        try:
            ages.append((_start_time(pid), pid))
        except (OSError, IndexError, ValueError):
            continue
    for _, pid in sorted(ages)[1:]:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return max(len(ages) - 1, 0)


def kill_user(uid, wait=5.0):
    """SIGKILL every process of ``uid`` until none is left (or ``wait`` seconds pass); returns
    how many were found at first."""
    found = user_processes(uid)
    deadline = time.monotonic() + wait
    pids = found
    while pids and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)
        pids = user_processes(uid)
    return len(found)


def check_sandbox(uid, limits, workdir):
    """Start a trivial Python in the sandbox; raise ``SandboxUnavailable`` saying why it failed."""
    rundir = Path(workdir)
    rundir.mkdir(parents=True, exist_ok=True)
    os.chown(rundir, uid, uid)
    probe = "import sys, numpy, ipykernel; print('sandbox ok')"
    cmd = bwrap_command([sys.executable, "-c", probe], rundir, rundir, uid, limits, kernel_environment(rundir))
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except FileNotFoundError as err:
        raise SandboxUnavailable(f"cannot run the sandbox: {err}. Install util-linux and bubblewrap "
                                 "(`make system-deps`), or pass --no-sandbox for trusted notebooks.") from None
    except subprocess.TimeoutExpired:
        raise SandboxUnavailable("the sandbox did not start within 120 s") from None
    if result.returncode != 0 or "sandbox ok" not in result.stdout:
        hint = ""
        if os.geteuid() != 0:
            hint = (" The grader drops student code to a spare uid, which needs root (or a bwrap "
                    "allowed to switch users).")
        if "namespace" in result.stderr or "Operation not permitted" in result.stderr:
            hint += (" bubblewrap may not create namespaces here: a container or cluster job must allow it "
                     "(Kubernetes: runAsUser 0, the SYS_ADMIN capability, unconfined seccomp and AppArmor; "
                     "see the README's 'Grading on a cluster').")
        raise SandboxUnavailable(
            f"the grading sandbox (bubblewrap) failed to start (exit {result.returncode}): "
            f"{result.stderr.strip()[-800:]}.{hint} Fix this, or pass --no-sandbox to grade "
            "trusted notebooks without isolation.")


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager that launches the kernel in ``rundir`` through the sandbox (or, with
    ``uid=None``, as a plain local process for ``--no-sandbox``), over IPC sockets in ``rundir``."""

    def __init__(self, rundir, cwd, uid, limits, package=None, **kwargs):
        rundir = Path(rundir)
        super().__init__(transport="ipc", ip=str(rundir / "k"),
                         connection_file=str(rundir / "kernel.json"), **kwargs)
        self.rundir, self.workdir, self.uid, self.limits = rundir, Path(cwd), uid, limits
        self.home, self.package = rundir / "home", package

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if self.uid is not None:
            os.chown(self.connection_file, self.uid, self.uid)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        env = kernel_environment(self.home)
        kw["cwd"] = str(self.workdir)
        kw["stdout"] = subprocess.DEVNULL
        kw["stderr"] = open(self.rundir / "kernel.log", "wb")
        if self.uid is None:
            kw["env"] = {**os.environ, **env}
        else:
            kernel_cmd = bwrap_command(kernel_cmd, self.rundir, self.workdir, self.uid, self.limits, env,
                                       self.package)
            kw["env"] = {"PATH": env["PATH"], "LANG": "C.UTF-8"}
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            kw["stderr"].close()

    def kill_now(self):
        """SIGKILL the kernel's process group at once (the sandbox's namespace dies with it)."""
        provisioner = self.provisioner
        if provisioner is None or getattr(provisioner, "process", None) is None:
            return
        try:
            os.killpg(provisioner.pgid or provisioner.pid, signal.SIGKILL)
        except OSError:
            pass

    def exit_status(self):
        """The kernel's exit status once it has ended (negative: killed by that signal), else None."""
        process = getattr(self.provisioner, "process", None)
        if process is None:
            return None
        code = process.poll()
        if code is not None and self.uid is not None and code > 128:
            return -(code - 128)  # bwrap reports a child killed by signal N as 128 + N
        return code

    def startup_log(self):
        try:
            return (self.rundir / "kernel.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""
