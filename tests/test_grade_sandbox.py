"""The grading sandbox itself, with a hostile Python program in it: each check runs the same
probe once inside the sandbox (where it must fail) and, where that is safe, once outside
(where it must succeed, so the check can fail). Needs bubblewrap and root, as the grader does."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from mlcourse.grading.sandbox import (Limits, UidLease, bwrap_command, check_sandbox, kernel_environment,
                                      kill_user, user_processes)

pytestmark = [
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed (`make system-deps`)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox drops student code to a spare uid, which needs root"),
]


@pytest.fixture
def lease():
    held = UidLease()
    yield held
    held.release()


def sandboxed(code, tmp_path, lease, limits=Limits(timeout=60), popen=False, package=None):
    rundir = tmp_path / "run"
    rundir.mkdir(exist_ok=True)
    os.chown(rundir, lease.uid, lease.uid)
    cmd = bwrap_command([sys.executable, "-c", textwrap.dedent(code)], rundir, rundir, lease.uid, limits,
                        kernel_environment(rundir), package)
    if popen:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, start_new_session=True)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def gone(uid, wait=10.0):
    """Whether every process of ``uid`` has ended within ``wait`` seconds (a dying pid namespace
    takes a moment to reap its members)."""
    deadline = time.monotonic() + wait
    while user_processes(uid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not user_processes(uid)


def direct(code, tmp_path):
    """Run ``code`` outside the sandbox, in a folder of ``tmp_path`` with HOME two levels below it."""
    home = tmp_path / "outside" / "a" / "b"
    home.mkdir(parents=True)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60,
                          cwd=home, env={**os.environ, "HOME": str(home)})


def test_preflight_check_passes(lease, tmp_path):
    check_sandbox(lease.uid, Limits(), tmp_path / "check")


def test_each_worker_gets_its_own_unprivileged_uid(lease):
    other = UidLease()
    try:
        assert lease.uid != other.uid and min(lease.uid, other.uid) >= 1000
    finally:
        other.release()


def test_no_network(lease, tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    probe = f"""
        import socket
        try:
            socket.create_connection(("127.0.0.1", {server.getsockname()[1]}), timeout=3)
            print("connected")
        except OSError as err:
            print(type(err).__name__)
    """
    inside = sandboxed(probe, tmp_path, lease)
    assert inside.returncode == 0, inside.stderr
    assert inside.stdout.strip() in ("ConnectionRefusedError", "OSError", "TimeoutError") and not accepted
    assert direct(probe, tmp_path).stdout.strip() == "connected"  # the probe works where nothing stops it
    time.sleep(0.2)
    assert len(accepted) == 1
    server.close()


def test_course_files_invisible_and_only_scratch_writable(lease, tmp_path):
    course = tmp_path / "course"
    secrets = [course / "solutions/hw/hw.ipynb", course / "gradebook.db", course / "nbgrader_config.py",
               course / "submitted/other/hw/hw.ipynb"]
    for path in secrets:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("answer key")
    host_tmp = Path("/tmp") / f"mlcourse-probe-{os.getpid()}"
    probe = f"""
        import os
        for path in {[str(p) for p in secrets]!r}:
            try:
                open(path).read(); print("read", path)
            except OSError as err:
                print("blocked", type(err).__name__)
        for path in [{str(course / 'pwned.txt')!r}, "/usr/pwned.txt", os.path.expanduser("~/../../pwned.txt")]:
            try:
                open(path, "w").write("x"); print("wrote", path)
            except OSError as err:
                print("blocked", type(err).__name__)
        open({str(host_tmp)!r}, "w").write("x")
        open("scratch.txt", "w").write("mine")
        print("uid", os.getuid())
    """
    inside = sandboxed(probe, tmp_path, lease)
    assert inside.returncode == 0, inside.stderr
    lines = inside.stdout.split("\n")
    assert sum(line.startswith("blocked") for line in lines) == len(secrets) + 3, inside.stdout
    assert not any(line.startswith(("read", "wrote")) for line in lines), inside.stdout
    assert f"uid {lease.uid}" in lines
    assert not (course / "pwned.txt").exists() and not host_tmp.exists(), "a write escaped the sandbox"
    scratch = tmp_path / "run" / "scratch.txt"
    assert scratch.read_text() == "mine" and scratch.stat().st_uid == lease.uid
    try:
        outside = direct(probe.replace("/usr/pwned.txt", "/nonexistent/x"), tmp_path)
        assert outside.stdout.count("read ") == len(secrets), "the probe must be able to read them outside"
        assert (course / "pwned.txt").exists(), "the probe must be able to write outside its folder"
    finally:
        host_tmp.unlink(missing_ok=True)


def test_fork_bomb_stops_at_the_process_limit(lease, tmp_path):
    probe = """
        import os, time
        children = 0
        try:
            while True:
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                children += 1
        except OSError as err:
            print(type(err).__name__, children)
    """
    inside = sandboxed(probe, tmp_path, lease, Limits(timeout=60, processes=32))
    name, children = inside.stdout.split()
    assert name == "BlockingIOError" and 0 < int(children) < 32
    assert gone(lease.uid), "the sandbox's processes must die with it"


def test_cpu_time_limit(lease, tmp_path):
    start = time.monotonic()
    inside = sandboxed("while True: pass", tmp_path, lease, Limits(timeout=60, cpu_seconds=1))
    assert inside.returncode == 128 + signal.SIGXCPU and time.monotonic() - start < 60


def test_memory_limit(lease, tmp_path):
    probe = """
        small = bytearray(50 * 2**20)
        try:
            big = bytearray(400 * 2**20)
            print("allocated")
        except MemoryError:
            print("MemoryError")
    """
    assert sandboxed(probe, tmp_path, lease, Limits(timeout=60, memory_mb=256)).stdout.strip() == "MemoryError"
    assert sandboxed(probe, tmp_path, lease, Limits(timeout=60, memory_mb=1024)).stdout.strip() == "allocated"


def test_file_size_limit(lease, tmp_path):
    inside = sandboxed("open('big', 'wb').write(bytes(3 * 2**20))", tmp_path, lease, Limits(timeout=60, file_mb=1))
    assert "File too large" in inside.stderr  # Python ignores SIGXFSZ, so the write fails instead
    assert (tmp_path / "run" / "big").stat().st_size <= 2**20


def test_killing_the_sandbox_kills_its_whole_tree(lease, tmp_path):
    probe = """
        import os, subprocess, sys, time
        subprocess.Popen(["sleep", "600"], start_new_session=True)   # a detached daemon
        if os.fork() == 0:                                            # and an orphaned grandchild
            if os.fork() == 0:
                os.setsid(); time.sleep(600)
            os._exit(0)
        print("ready", flush=True)
        time.sleep(600)
    """
    process = sandboxed(probe, tmp_path, lease, popen=True)
    assert process.stdout.readline().strip() == "ready"
    assert len(user_processes(lease.uid)) >= 3
    os.killpg(process.pid, signal.SIGKILL)  # what the grader does at the time limit
    process.wait()
    assert gone(lease.uid), "processes outlived the sandbox"
    assert kill_user(lease.uid) == 0


def test_gpus_are_hidden(lease, tmp_path):
    probe = "import glob, os; print(repr(os.environ.get('CUDA_VISIBLE_DEVICES')), glob.glob('/dev/nvidia*'))"
    assert sandboxed(probe, tmp_path, lease).stdout.strip() == "'' []"


def test_read_only_folders_below_tmp_stay_visible(tmp_path, lease, monkeypatch):
    # a course cloned under /tmp keeps its Python and mlcourse there; the sandbox's private
    # /tmp must not hide them
    shared = Path("/tmp") / f"mlg-test-ro-{os.getpid()}"
    shared.mkdir()
    try:
        (shared / "marker.txt").write_text("visible")
        shared.chmod(0o755)
        from mlcourse.grading import sandbox
        needed = sandbox.readonly_paths()
        monkeypatch.setattr(sandbox, "readonly_paths", lambda: [*needed, shared])
        done = sandboxed(f"print(open({str(shared / 'marker.txt')!r}).read())", tmp_path, lease)
    finally:
        shutil.rmtree(shared)
    assert done.returncode == 0 and done.stdout.strip() == "visible", done.stderr


WALK = """
import json, os, sys
needles = set(json.load(open(sys.argv[1])))
found, names, read = [], [], 0
for top in sys.argv[2:] or ["/"]:
    for folder, dirs, files in os.walk(top):
        if folder in ("/proc", "/sys", "/dev"):
            dirs[:] = []
            continue
        for name in files:
            path = os.path.join(folder, name)
            if "scratch" in path.split(os.sep) or name.startswith(("conv.py", "layers.py", "nets.py")) \\
                    and "mlcourse" in path:
                names.append(path)
            if not name.endswith(SUFFIXES) and "mlcourse" not in path and not folder.startswith(RUN):
                continue
            try:
                if os.path.islink(path) or os.path.getsize(path) > 4_000_000:
                    continue
                data = open(path, "rb").read()
            except OSError:
                continue
            read += 1
            hits = needles.intersection(line.strip().decode("utf-8", "replace") for line in data.split(b"\\n"))
            if hits:
                found.append([path, sorted(hits)[:3]])
print(json.dumps({"found": found, "names": names, "read": read}))
"""


def answer_key_lines(root):
    """Stripped lines of 25 characters or more of the answer key's modules that name one of their
    functions or classes, and that no part of the student package or of the released notebooks has."""
    import ast

    from mlcourse.student_package import STUDENT_MODULES

    key = [p for sub in ("scratch", "gpu", "models") for p in (root / "mlcourse" / sub).glob("*.py")
           if p.name not in ("__init__.py", "checks.py")]
    names = {node.name for p in key for node in ast.parse(p.read_text()).body
             if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and len(node.name) >= 6}
    public = {line.strip() for name in STUDENT_MODULES for line in (root / "mlcourse" / name).read_text().splitlines()}
    public |= {line.strip() for nb in (root / "exercises").glob("*/*.ipynb") for line in nb.read_text().splitlines()}
    return sorted({line.strip() for p in key for line in p.read_text().splitlines()
                   if len(line.strip()) >= 25 and line.strip() not in public and any(n in line for n in names)})


def test_no_file_readable_in_the_sandbox_holds_the_answer_key(lease, tmp_path, root):
    """With the student package mounted, as for a judged assignment, no file the kernel can read
    (sources, .pyc, editable-install finders, its own folder) holds reference code."""
    from mlcourse.student_package import copy_student_package

    package = copy_student_package(tmp_path / "pkg" / "mlcourse")
    (tmp_path / "pkg").chmod(0o755)
    needles = tmp_path / "run" / "needles.json"
    needles.parent.mkdir()
    lines = answer_key_lines(root)
    needles.write_text(json.dumps(lines))
    suffixes = (".py", ".pyc", ".pth", ".ipynb", ".json", ".txt", ".md", ".cfg", ".toml", ".pyi")
    walker = WALK.replace("SUFFIXES", repr(suffixes)).replace("RUN", repr(str(tmp_path / "run")))
    (tmp_path / "run" / "walk.py").write_text(walker)
    rundir = tmp_path / "run"
    os.chown(rundir, lease.uid, lease.uid)
    cmd = bwrap_command([sys.executable, str(rundir / "walk.py"), str(needles)], rundir, rundir, lease.uid,
                        Limits(timeout=300), kernel_environment(rundir), package)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert len(lines) > 300 and report["read"] > 1000, (len(lines), report["read"])
    assert not report["names"], f"answer-key files are visible in the sandbox: {report['names'][:5]}"
    assert not report["found"], f"files in the sandbox hold answer-key lines: {report['found'][:5]}"
    # the control: the same walk over the package outside the sandbox finds the reference
    outside = subprocess.run([sys.executable, str(rundir / "walk.py"), str(needles), str(root / "mlcourse")],
                             capture_output=True, text=True, timeout=600, cwd=rundir)
    assert any(str(root / "mlcourse") in path for path, _ in json.loads(outside.stdout)["found"])
