"""Item analysis of a graded class: per test cell its pass rate, difficulty (mean points / max
points) and discrimination (point-biserial correlation of the cell's points with the rest of the
score), and its most common failure messages with the numbers masked.

Input everywhere is the class's rows of ``mlcourse_grading`` (``store.ResultsTable.rows``)."""
import json
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

# statuses whose rows carry no grade of a notebook that ran: left out of the statistics
NOT_RUN = {"missing", "error"}
_NUM = r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"
NUMBER = re.compile(rf"(?<![\w.]){_NUM}(?!\w)")
ARRAY = re.compile(rf"(?<!\w)\[(?=[^\]]*[\d…])(?:[\s,]|\.\.\.|\[…\]|{_NUM}|nan|inf)*+\]")


def mask_numbers(message):
    """``message`` with every array of numbers shown as '[…]' and every other number as '#';
    names that hold digits (``W1``, ``conv2d``) are kept."""
    text, before = message, None
    while text != before:  # innermost arrays first
        text, before = ARRAY.sub("[…]", text), text
    return NUMBER.sub("#", text)


@dataclass
class CellStats:
    """One test cell over ``n`` submissions. ``discrimination`` is None where undefined (either
    side has no variance); ``failures`` is [(masked message, count)], most common first."""
    name: str
    max_points: float
    n: int
    passed: int
    mean_points: float
    difficulty: float | None
    discrimination: float | None
    manual: bool = False
    failures: list = field(default_factory=list)

    @property
    def pass_rate(self):
        return self.passed / self.n if self.n else None


def point_biserial(item, rest):
    """Pearson correlation of ``item`` and ``rest`` (arrays of length N); None when either is
    constant (or N < 2), where it is undefined."""
    item, rest = np.asarray(item, dtype=float), np.asarray(rest, dtype=float)
    if item.size < 2 or np.ptp(item) == 0 or np.ptp(rest) == 0:
        return None
    a, b = item - item.mean(), rest - rest.mean()
    return float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))


def graded_rows(rows):
    """The rows of notebooks that were run (statistics leave out missing work and grader errors)."""
    return [r for r in rows if r["status"] not in NOT_RUN]


def cells_of(row):
    return json.loads(row["cells"]) if isinstance(row["cells"], str) else list(row["cells"])


def common_failures(messages, top=5):
    """[(masked message, count)] of the ``top`` most common messages, ties in alphabetical order."""
    counts = Counter(mask_numbers(m) for m in messages if m)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


def cell_stats(rows, top=5):
    """[CellStats] per test cell, in the order of the first row's cells, over ``graded_rows``."""
    rows = graded_rows(rows)
    per_row = [{c["name"]: c for c in cells_of(r)} for r in rows]
    names = list(dict.fromkeys(name for cells in per_row for name in cells))
    if not names:
        return []
    points = np.array([[float(cells[n]["points"]) if n in cells else 0.0 for n in names] for cells in per_row])
    points = points.reshape(len(per_row), len(names))
    total = points.sum(axis=1)
    out = []
    for j, name in enumerate(names):
        found = [cells[name] for cells in per_row if name in cells]
        top_points = max((float(c["max_points"]) for c in found), default=0.0)
        mean = float(points[:, j].mean()) if len(rows) else 0.0
        out.append(CellStats(
            name=name, max_points=top_points, n=len(rows),
            passed=sum(c["outcome"] == "passed" for c in found), mean_points=mean,
            difficulty=mean / top_points if top_points and len(rows) else None,
            discrimination=point_biserial(points[:, j], total - points[:, j]),
            manual=bool(found) and all(c["outcome"] == "manual" for c in found),
            failures=common_failures([c.get("message", "") for c in found if c["outcome"] in ("failed", "not-run")],
                                     top)))
    return out


def score_summary(rows):
    """{n, mean, median, min, max, max_score} of the scores of ``graded_rows`` (None where empty)."""
    ran = graded_rows(rows)
    scores = np.array([float(r["score"]) for r in ran])
    top = max((float(r["max_score"]) for r in rows), default=0.0)
    if not scores.size:
        return dict(n=0, mean=None, median=None, min=None, max=None, max_score=top)
    return dict(n=int(scores.size), mean=float(scores.mean()), median=float(np.median(scores)),
                min=float(scores.min()), max=float(scores.max()), max_score=top)
