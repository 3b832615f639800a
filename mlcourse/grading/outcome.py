"""What a graded notebook came to: one ``CellOutcome`` per test cell (points from nbgrader's
``determine_grade``), and the submission's status and reason (``decide``)."""
import dataclasses
import re
from dataclasses import dataclass, field

import nbformat
from nbgrader import utils

from ..errors import BadInput
from .spec import split_hidden


NOT_RUN = "NotRun"
STOPPED = "KernelStopped"
# statuses, most severe first; ``error`` (a fault of the grader, not of the notebook) is retried
STATUSES = ("missing", "invalid", "wrong-assignment", "error", "timeout", "cpu-limit", "memory-limit",
            "process-limit", "output-limit", "kernel-died", "modified", "graded")
RETRIED = {"error"}
AWAITING = "needs a manual grade"  # the message of a written answer nobody has graded yet
UNANSWERED = "no answer written"  # a written answer left as released, which nbgrader scores 0
TRUST_JUDGED = "judged"        # test cells judged in the grader's process (judge.py)
TRUST_IN_KERNEL = "in-kernel"  # test cells run in the student's kernel: nbgrader's own trust
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class CellOutcome:
    """One test cell of one submission: ``outcome`` is passed, failed, not-run, missing or
    manual; ``where`` says which part failed (visible, hidden, or '' when not known); ``notebook``
    is set in an assignment of several notebooks (``name`` is then ``notebook/cell``)."""
    name: str
    points: float
    max_points: float
    outcome: str
    message: str = ""
    where: str = ""
    notebook: str = ""


@dataclass
class GradeResult:
    """The grade of one submission. ``notebook`` is the executed notebook (None when it did not
    run); ``cells`` one ``CellOutcome`` per test cell of the assignment, in notebook order."""
    student: str
    assignment: str
    status: str
    reason: str
    score: float
    max_score: float
    cells: list = field(default_factory=list)
    notebook: object = None
    run_seconds: float = 0.0
    content_hash: str = ""

    def to_wire(self):
        data = dataclasses.asdict(dataclasses.replace(self, notebook=None))
        data["notebook"] = nbformat.writes(self.notebook) if self.notebook is not None else None
        return data

    @classmethod
    def from_wire(cls, data):
        data = dict(data)
        data["cells"] = [CellOutcome(**c) for c in data["cells"]]
        if data["notebook"] is not None:
            data["notebook"] = nbformat.reads(data["notebook"], as_version=4)
        return cls(**data)


def unrun(student, spec, status, reason):
    """The result of ``spec``'s notebook when it did not run: no points, every test cell not run."""
    return GradeResult(student, spec.assignment, status, reason, 0.0, spec.max_score, cell_outcomes(None, spec))


def most_severe(statuses):
    """The first of ``statuses`` in ``STATUSES`` order (missing first, graded last)."""
    return min(statuses, key=STATUSES.index)


def _first_line(text, limit=300):
    text = ANSI.sub("", str(text)).strip().splitlines()
    text = text[0] if text else ""
    return text if len(text) <= limit else text[:limit] + "..."


def error_location(cell, error, delimiters):
    """'hidden' or 'visible': the part of a test cell whose line raised ``error``; '' if unknown."""
    count = cell.get("execution_count")
    if count is None:
        return ""
    frame = re.compile(rf"In\s*\[{count}\],\s*line\s+(\d+)")
    for entry in error.get("traceback", []):
        found = frame.search(ANSI.sub("", entry))
        if found:
            try:
                lines = split_hidden(cell.source, delimiters)
            except BadInput:  # not the instructor's test cell: its regions do not parse
                return ""
            number = int(found.group(1))
            if 1 <= number <= len(lines):
                return "hidden" if lines[number - 1][1] else "visible"
            return ""
    return ""


def cell_outcomes(nb, spec, points=None, awaiting=None):
    """One ``CellOutcome`` per test cell of ``spec``, from an executed notebook ``nb``; points
    from ``points`` ({cell: points}, e.g. the gradebook's) or else nbgrader's ``determine_grade``;
    a written answer not in ``awaiting`` (when given: those the gradebook still flags) is graded."""
    if nb is None:
        return [CellOutcome(name, 0.0, pts, "not-run", "the notebook was not run")
                for name, pts in spec.grade_cells.items()]
    found = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
             if utils.is_grade(c) and "grade_id" in c.metadata.get("nbgrader", {})}
    out = []
    for name, max_points in spec.grade_cells.items():
        cell = found.get(name)
        if cell is None:
            out.append(CellOutcome(name, 0.0, max_points, "missing", "not in the submission"))
            continue
        auto, _ = utils.determine_grade(cell)
        got = float(points[name]) if points and name in points else float(auto or 0.0)
        if auto is None:
            done = awaiting is not None and name not in awaiting
            out.append(CellOutcome(name, got, max_points, "manual", "graded by hand" if done else AWAITING))
            continue
        if cell.cell_type == "markdown":
            out.append(CellOutcome(name, got, max_points, "failed", UNANSWERED))
            continue
        error = next((o for o in cell.get("outputs", []) if o.output_type == "error"), None)
        stderr = next((o for o in cell.get("outputs", []) if o.output_type == "stream" and o.name == "stderr"), None)
        if error is not None:
            outcome = "not-run" if error.ename == NOT_RUN else "failed"
            out.append(CellOutcome(name, got, max_points, outcome, _first_line(f"{error.ename}: {error.evalue}"),
                                   error_location(cell, error, spec.delimiters)))
        elif stderr is not None:
            out.append(CellOutcome(name, got, max_points, "failed", "wrote to stderr: " + _first_line(stderr.text)))
        else:
            out.append(CellOutcome(name, got, max_points, "passed" if got >= max_points else "failed"))
    return out


def decide(nb, cells, notes, executor):
    """(status, reason) of a submission that ``executor`` (a ``SandboxedExecute``) ran."""
    problems = []
    for cell in nb.cells:
        if utils.is_solution(cell) and not utils.is_grade(cell):
            for o in cell.get("outputs", []):
                if o.output_type == "error" and o.ename not in (NOT_RUN, STOPPED):
                    problems.append(f"{_first_line(o.ename + ': ' + str(o.evalue), 120)} in answer cell "
                                    f"{cell.metadata['nbgrader']['grade_id']}")
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    stop, limits = executor.stop, executor.limits
    forked = executor.forks or any(o.ename == "BlockingIOError" for o in errors)
    if forked:
        problems.insert(0, f"the notebook started too many processes (limit {limits.processes} with threads);"
                           " all but the kernel were killed")
    out_of_memory = any(o.ename == "MemoryError" for o in errors)
    if stop is not None:
        status = "memory-limit" if out_of_memory and stop[0] == "kernel-died" else stop[0]
        problems.insert(0, stop[1] + "; later cells were not run")
        if status != stop[0]:
            problems.insert(0, f"the notebook ran out of memory (limit {limits.memory_mb} MB per process)")
    elif out_of_memory:
        status = "memory-limit"
        problems.insert(0, f"the notebook ran out of memory (limit {limits.memory_mb} MB per process)")
    elif forked:
        status = "process-limit"
    else:
        status = "modified" if notes else "graded"
    lost = [f"{c.name} {c.outcome}" + (f" ({c.message.split(':')[0]})" if c.message and c.outcome == "failed" else "")
            for c in cells if c.points < c.max_points and c.outcome not in ("missing", "manual")]  # manual: awaiting a person
    if lost:
        problems.append("lost points: " + ", ".join(lost))
    return status, "; ".join(notes + problems)
