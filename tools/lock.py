"""Refresh constraints.txt, the exact package versions the test suite passed with.

    make lock            (or: python3 tools/lock.py [pytest arguments])

Resolves pyproject.toml afresh (the newest versions its ranges allow) into a throw-away venv
outside the repository, runs the whole test suite with it, and only when the suite passes
writes constraints.txt from what that venv holds. `make` installs with `pip install -c
constraints.txt`, and reinstalls whenever the file changes. Commit a refreshed lock on its own:
an upgrade is a change of its own, never a surprise.
"""
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "constraints.txt"
REFRESHING = "MLCOURSE_LOCK_REFRESH"  # set while the suite tests a fresh resolution
HEADER = """\
# The exact versions `make test` passed with. `make` installs with `pip install -c constraints.txt`
# and reinstalls when this file changes. Refresh with `make lock` (tools/lock.py), which
# re-resolves pyproject.toml, runs the tests and rewrites this file only when they pass.
# Resolved on {system} {machine}, CPython {python}. Local version labels are dropped (torch
# 2.13.0+cpu is pinned as 2.13.0), so the same pins install CPU or CUDA builds. Packages only some
# platforms need (CUDA libraries, macOS or Windows helpers) are not listed and resolve freely.
"""


def frozen(python):
    """Sorted ``name==version`` lines of what ``python``'s environment holds (editables left out)."""
    out = subprocess.run([python, "-m", "pip", "freeze", "--all", "--exclude-editable"],
                         check=True, capture_output=True, text=True).stdout
    pins = []
    for line in out.splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and not name.startswith("-"):
            pins.append(f"{name}=={version.split('+')[0]}")
    return sorted(pins, key=lambda pin: pin.split("==")[0].lower())


def write_lock(python, path=LOCK):
    """Write the lock of ``python``'s environment to ``path`` (temp file, then rename)."""
    version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                             check=True, capture_output=True, text=True).stdout.strip()
    text = HEADER.format(system=platform.system(), machine=platform.machine(), python=version)
    text += "\n".join(frozen(python)) + "\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def run(*cmd, **kw):
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run(cmd, check=True, **kw)


def main(pytest_args):
    with tempfile.TemporaryDirectory(prefix="mlcourse-lock-") as tmp:
        venv = Path(tmp) / "venv"
        python = str(venv / "bin" / "python")
        run(sys.executable, "-m", "venv", venv)
        run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        run(python, "-m", "pip", "install", "--quiet", "-e", ".[dev]", cwd=ROOT)
        tested = subprocess.run([python, "-m", "pytest", *pytest_args], cwd=ROOT,
                                env={**os.environ, REFRESHING: "1"})
        if tested.returncode != 0:
            print(f"the tests failed with the fresh resolution (exit {tested.returncode}); "
                  f"{LOCK.name} is unchanged", file=sys.stderr)
            return 1
        write_lock(python)
    print(f"wrote {LOCK}; review `git diff {LOCK.name}` and commit it on its own")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
