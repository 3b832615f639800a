"""``mlcourse check NOTEBOOK``: run a notebook from the top in a fresh kernel, as a grader would,
and print what each test cell says, whole: which passed, which failed with what message and on
which line, and which answers are not written yet. The notebook file itself is never written.
Only the visible tests are in a student's copy; the grade also counts hidden tests, so passing
here is a good sign, not the grade. Also ``python -m mlcourse.cli.check`` (the student wheel)."""
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import BadInput, MissingPath, SetupError

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_LINE = re.compile(r"(?:Cell In\s*\[(\d+)\]|<cell (\d+)>|In\s*\[(\d+)\]), line (\d+)")
TIMEOUT = 600


def run_notebook(path, timeout=TIMEOUT):
    """The executed copy of the notebook at ``path`` (run in its folder, errors kept)."""
    try:
        import nbformat
        from jupyter_client import KernelManager
        from nbclient import NotebookClient
    except ImportError:
        raise SetupError("checking a notebook needs Jupyter: pip install nbclient ipykernel") from None
    path = Path(path)
    if not path.is_file():
        raise MissingPath(f"no notebook at {path}")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # a damaged file: say so instead of a traceback
        raise BadInput(f"{path} is not a readable notebook ({err}); restore it from backups/ or run "
                         f"`mlcourse start` into a new folder") from None
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    print(f"running {path} from the top in a fresh kernel ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="mlcourse-check-") as sockets:  # a local socket, not TCP
        manager = KernelManager(kernel_name=kernel, transport="ipc", ip=str(Path(sockets) / "kernel"))
        NotebookClient(nb, km=manager, timeout=timeout, allow_errors=True,
                       resources={"metadata": {"path": str(path.parent.resolve())}}).execute(stderr=subprocess.DEVNULL)
    return nb


def _failing_line(cell, error):
    """(line number, text) of the test cell's line that raised ``error``, else None."""
    count = cell.get("execution_count")
    lines = cell.source.split("\n")
    for entry in error.get("traceback", []):
        for found in CELL_LINE.finditer(ANSI.sub("", entry)):
            number = int(found.group(4))
            if str(count) in found.groups()[:3] and 1 <= number <= len(lines):
                return number, lines[number - 1].strip()
    return None


def report(nb):
    """[(status, cell id, points, message)] for each test cell and each failing answer cell of
    an executed notebook: status is 'passed', 'failed' or 'not done'."""
    rows = []
    for cell in nb.cells:
        info = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not (info.get("grade") or info.get("solution")):
            continue
        error = next((o for o in cell.get("outputs", []) if o.output_type == "error"), None)
        name, points = info.get("grade_id", "?"), info.get("points") if info.get("grade") else None
        if error is None:
            if info.get("grade"):
                rows.append(("passed", name, points, ""))
            continue
        message = ANSI.sub("", f"{error.ename}: {error.evalue}")
        if error.ename == "NotImplementedError":
            message = "an answer it needs is not written yet (it still raises NotImplementedError)"
        where = _failing_line(cell, error)
        if where is not None:
            message += f"\nat line {where[0]} of the test cell: {where[1]}"
        status = "not done" if error.ename == "NotImplementedError" else "failed"
        rows.append((status, name, points, message))
    return rows


def summary(rows):
    """The lines ``mlcourse check`` prints for ``report`` rows."""
    lines = []
    for status, name, points, message in rows:
        worth = f" ({points:g} points)" if points is not None else " (answer cell)"
        lines.append(f"[{status}] {name}{worth}")
        if message:
            lines += ["    " + line for line in message.split("\n")]
    tests = [r for r in rows if r[2] is not None]
    passed = sum(1 for r in tests if r[0] == "passed")
    lines += ["", f"{passed} of {len(tests)} test cells pass their visible tests.",
              "The grade also counts hidden tests on other inputs, so passing every visible test is not "
              "yet full marks: check your answers against the exercise text too."]
    return lines


def add_parser(sub):
    parser = sub.add_parser("check", help="run a notebook from the top and print every test's message whole")
    parser.add_argument("notebook", help="e.g. work/02_svm/02_svm.ipynb")
    parser.add_argument("--timeout", type=int, default=TIMEOUT, help="seconds per cell (default %(default)s)")
    parser.set_defaults(func=run)


def run(args):
    rows = report(run_notebook(args.notebook, args.timeout))
    print("\n".join(summary(rows)))
    return 0 if rows and all(r[0] == "passed" for r in rows) else 1


if __name__ == "__main__":
    from . import main

    sys.exit(main(["check", *sys.argv[1:]]))
