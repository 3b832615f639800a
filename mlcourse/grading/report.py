"""What a class run reports: the grade CSVs and the printed summary."""
import csv
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_open
from .outcome import AWAITING, STATUSES, TRUST_IN_KERNEL, TRUST_JUDGED


CSV_FIELDS = ["student", "score", "max_score", "status", "reason", "similar_to", "trust"]
TRUST_WORDS = {TRUST_JUDGED: "judged in the grader's process",
               TRUST_IN_KERNEL: "run in the student's kernel (nbgrader's in-kernel trust: a student's code can change "
                            "these results)"}
CELL_FIELDS = ["student", "cell", "points", "max_points", "outcome", "where", "message"]


def _similar(flags):
    """{student: "other (93%); ..."} from similarity flags."""
    out = {}
    for flag in flags:
        out[flag.student] = f"{out[flag.student]}; {flag}" if flag.student in out else str(flag)
    return out


def write_csvs(path, rows, flags=()):
    """One row per student (score, max score, status, reason, near-copies) at ``path``, and one
    per student and test cell beside it (``<name>_cells.csv``); returns both paths."""
    path = Path(path)
    cells_path = path.with_name(f"{path.stem}_cells{path.suffix or '.csv'}")
    similar = _similar(flags)
    for target, fields, records in (
            (path, CSV_FIELDS, [{**{k: r[k] for k in CSV_FIELDS[:-2]}, "similar_to": similar.get(r["student"], ""),
                                 "trust": r.get("trust") or ""}
                                for r in rows]),
            (cells_path, CELL_FIELDS, [{"student": r["student"], "cell": c["name"],
                                        **{k: c[k] for k in CELL_FIELDS[2:]}}
                                       for r in rows for c in json.loads(r["cells"])])):
        with atomic_open(target, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(records)
    return path, cells_path


def summary(assignment, rows, ran, skipped, ignored, csv_paths, flags=(), bins=5):
    """The text printed after a run: counts per status, a score histogram, what went wrong."""
    lines = [f"{assignment}: {len(rows)} students, {ran} graded now, {skipped} unchanged since the last run"]
    counts = Counter(r["status"] for r in rows)
    trust = sorted({r.get("trust") for r in rows if r.get("trust")})
    lines += [f"  test cells {TRUST_WORDS.get(t, t)}" for t in trust]
    lines += ["", "  status             count"] + [f"  {s:<18} {counts[s]:>5}" for s in STATUSES if counts[s]]
    if rows:
        top = max(r["max_score"] for r in rows) or 1.0
        edges = [top * k / bins for k in range(bins + 1)]
        hist = Counter(min(max(int(r["score"] / top * bins), 0), bins - 1) for r in rows)  # late penalties can go below 0
        lines += ["", f"  score (of {top:g})"]
        lines += [f"  {edges[k]:5.1f} - {edges[k + 1]:5.1f}  {'#' * hist[k]} {hist[k]}" for k in range(bins)]
    waiting = sum(c["outcome"] == "manual" and c["message"] == AWAITING
                  for r in rows for c in json.loads(r["cells"]))
    if waiting:
        lines += ["", f"  written answers awaiting a manual grade: {waiting} (grade them in nbgrader's formgrader; "
                      "a regrade keeps the grades given)"]
    trouble = [r for r in rows if r["status"] != "graded"]
    if trouble:
        lines += ["", "  not graded cleanly:"]
        lines += [f"  {r['student']:<16} {r['status']:<16} {r['reason'][:160]}" for r in trouble]
    if flags:
        lines += ["", "  near-copies in the answer cells (reported, not scored; pairs are listed both ways):"]
        lines += [f"  {student:<16} {similar}" for student, similar in sorted(_similar(flags).items())]
    if ignored:
        lines += ["", "  ignored files (no usable student id): " + ", ".join(ignored[:10])]
    lines += ["", f"  grades: {csv_paths[0]}   per cell: {csv_paths[1]}"]
    return "\n".join(lines)


@dataclass
class ClassReport:
    """What a run did: a row per student (as stored), how many ran and how many were unchanged,
    files ignored, the two CSV paths, the printed summary and the near-copies found."""
    rows: list
    ran: int
    skipped: int
    ignored: list
    csv_paths: tuple
    text: str
    flags: list = ()
