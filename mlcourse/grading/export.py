"""``mlcourse export``: an assignment's grades as a file an LMS gradebook imports.

Scores come from the table ``mlcourse_grading`` that ``mlcourse grade`` fills; they already
include nbgrader's late penalty. The LMS knows students by its own ids, so the file is built
from the roster that LMS exports, matching nbgrader's student ids on one of its columns.

Formats, as the LMS documents its import:

- ``canvas``: Canvas's Gradebook CSV import (Instructure guide "How do I import grades in the
  Gradebook?", community.canvaslms.com, and the format of its own Gradebook export). Identity
  columns ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section`` as in the export,
  then one column per assignment: an existing assignment is named ``Name (canvas id)``, a new
  name creates an assignment. The export's second row holds ``Points Possible``. Canvas lists
  every change on its import preview before saving.
- ``moodle``: Moodle's "Import grades from CSV" (docs.moodle.org "Grade import"; Moodle's
  grade/import/csv/classes/load_data.php). The instructor maps one column to a user field
  (user id, username, ID number or email address, "Map from"/"Map to") and each grade column to
  a grade item. Grades are raw values of the grade item (not percent). An empty or ``-`` cell
  means "no grade" and clears a grade, and a row whose user is not found aborts the whole
  import, so only matched, graded students are written.
- ``csv``: student, score, max_score, percent, status.
"""
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from ..atomic import atomic_open
from ..errors import BadInput

FORMATS = ("canvas", "moodle", "csv")
MATCH_DEFAULTS = {"canvas": ("SIS Login ID", "SIS User ID"), "moodle": ("ID number", "Email address", "Username"),
                  "csv": ("SIS Login ID", "ID number", "Email address", "Username", "student")}
IDENTITY = {"canvas": ("Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section"),
            "moodle": ("First name", "Last name", "Surname", "Username", "ID number", "Email address")}
ROSTER_HELP = {"canvas": "Canvas: Grades > Export > Export Entire Gradebook",
               "moodle": "Moodle: Grades > Export > Plain text file, or Participants > Download table data",
               "csv": "any CSV with a header row"}
FAILED = {"error"}  # grading itself failed: no grade to send
POINTS_POSSIBLE = "    Points Possible"


@dataclass
class Export:
    """What ``export_grades`` wrote: the file, the rows, and who was left out and why."""
    path: Path
    fmt: str
    match_column: str
    column: str
    written: int = 0
    skipped: list = field(default_factory=list)    # graded, not on the roster
    ungraded: list = field(default_factory=list)   # on the roster, no grade
    failed: list = field(default_factory=list)     # grading failed
    blank_rows: int = 0                            # roster rows with an empty match column

    @property
    def text(self):
        lines = [f"wrote {self.path} ({self.fmt}): {self.written} grades in column {self.column!r}, "
                 f"students matched on roster column {self.match_column!r}"]
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} graded students not on the roster: {', '.join(self.skipped)}")
        if self.ungraded:
            left = "left out of the file" if self.fmt == "moodle" else "cell left empty"
            lines.append(f"{len(self.ungraded)} roster students have no grade ({left}): {', '.join(self.ungraded)}")
        if self.failed:
            lines.append(f"grading failed for {', '.join(self.failed)} (no grade written): run `mlcourse grade` again")
        if self.blank_rows:
            lines.append(f"{self.blank_rows} roster rows with an empty {self.match_column!r} were left out")
        return "\n".join(lines)


def _num(x):
    return f"{round(float(x), 2):.2f}".rstrip("0").rstrip(".")


def read_roster(path, fmt):
    """(header, rows as dicts) of the roster CSV at ``path`` (comma, semicolon or tab separated)."""
    if path is None:
        raise BadInput(f"--format {fmt} needs --roster: the roster CSV your LMS exports ({ROSTER_HELP[fmt]})")
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"roster {path} not found: export it from your LMS ({ROSTER_HELP[fmt]}) and pass its path")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise BadInput(f"roster {path} is not UTF-8 text ({err.reason} at byte {err.start}): save it as "
                         "\"CSV UTF-8\" or export it from the LMS again") from None
    first = text.splitlines()[0] if text.strip() else ""
    if not first:
        raise BadInput(f"roster {path} is empty: expected a header row, then one row per student")
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in next(reader)]
    rows = [dict(zip(header, (v.strip() for v in values))) for values in reader if any(v.strip() for v in values)]
    return header, rows


def _match_column(header, fmt, wanted, path):
    if wanted is not None:
        if wanted not in header:
            raise BadInput(f"roster {path} has no column {wanted!r}; its columns are: {', '.join(header)}")
        return wanted
    for name in MATCH_DEFAULTS[fmt]:
        if name in header:
            return name
    raise BadInput(f"roster {path} has none of the columns {', '.join(MATCH_DEFAULTS[fmt])} to match nbgrader's "
                     f"student ids on; its columns are: {', '.join(header)}. Choose one with --match-column")


def _grade_column(header, fmt, assignment, wanted):
    """The roster's column for ``assignment`` (Canvas ``Name (id)``, Moodle ``Type: Name (display)``)."""
    if wanted:
        return wanted
    pattern = {"canvas": rf"{re.escape(assignment)} \(\d+\)", "moodle": rf"[^:]+: {re.escape(assignment)} \(.+\)"}
    found = [h for h in header if h == assignment or fmt in pattern and re.fullmatch(pattern[fmt], h)]
    if len(found) > 1:
        raise BadInput(f"the roster has several columns for {assignment!r} ({', '.join(found)}): "
                         "choose one with --column")
    return found[0] if found else assignment


def load_grades(assignment, course=None, db=None):
    """{student: row of ``mlcourse_grading``} of ``assignment``, each score as the gradebook has it
    now (manual grades included); a clear error when there is none."""
    from ..course import Course
    from .store import ResultsTable, with_gradebook_scores

    ctx = Course(course, db)
    url = make_url(ctx.db_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        raise BadInput(f"no gradebook at {url.database}: grade the class first (`mlcourse grade {assignment}`)")
    table = ResultsTable(ctx.db_url)
    try:
        rows = table.rows(assignment)
    finally:
        table.close()
    if not rows:
        raise BadInput(f"no grades for {assignment!r} in {ctx.db_url}: run `mlcourse grade {assignment}` first "
                         "(or pass the --db it wrote to)")
    return ctx, with_gradebook_scores(ctx.db_url, ctx.dirs.course_id, assignment, rows)


def _write_rows(handle, rows):
    writer = csv.writer(handle)
    for row in rows:
        writer.writerow(row)


def export_grades(assignment, fmt, *, roster=None, output=None, course=None, db=None, percent=False,
                  match_column=None, skip_unmatched=False, column=None):
    """Write ``assignment``'s grades as ``fmt`` (canvas, moodle, csv) to ``output`` (default
    ``<course>/<assignment>_<fmt>.csv``), whole or not at all; returns an ``Export``. Students are
    matched on the roster's ``match_column``; while a graded student is not on the roster nothing
    is written, unless ``skip_unmatched``. ``percent``: scores out of 100 instead of points (for
    an LMS column out of 100); the csv format has both."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if roster is None and fmt != "csv":
        read_roster(None, fmt)
    ctx, grades = load_grades(assignment, course, db)
    header, people = read_roster(roster, fmt) if roster is not None else ([], [])
    match = _match_column(header, fmt, match_column, roster) if roster is not None else "student"
    if fmt in IDENTITY and not set(header) & set(IDENTITY[fmt]):
        raise BadInput(f"roster {roster} does not look like a {fmt} export (none of the columns "
                         f"{', '.join(IDENTITY[fmt])}); its columns are: {', '.join(header)}")
    grade_col = _grade_column(header, fmt, assignment, column)
    result = Export(Path(output) if output else ctx.root / f"{assignment}_{fmt}.csv", fmt, match, grade_col)

    on_roster = {}
    for person in people:
        key = person.get(match, "")
        if POINTS_POSSIBLE.strip() in person.values():  # the second row of a Canvas export
            continue
        if not key:
            result.blank_rows += 1
            continue
        if key.casefold() in on_roster:
            raise BadInput(f"roster {roster} lists {key!r} twice in column {match!r}: the column must identify "
                             "each student once (choose another with --match-column)")
        on_roster[key.casefold()] = person
    by_key = {s.casefold(): s for s in grades}
    if roster is not None:
        result.skipped = sorted(s for k, s in by_key.items() if k not in on_roster)
        result.ungraded = sorted(p[match] for k, p in on_roster.items() if k not in by_key)
        if result.skipped and not skip_unmatched:
            lines = [f"{len(result.skipped)} graded students are not in column {match!r} of roster {roster}: "
                     f"{', '.join(result.skipped)}"]
            if result.ungraded:
                lines.append(f"roster students with no grade: {', '.join(result.ungraded)}")
            lines.append(f"nothing written. Match on another column with --match-column (the roster has: "
                         f"{', '.join(header)}), or leave these students out with --skip-unmatched")
            raise BadInput("\n".join(lines))

    def cells(student):
        """(score as written, percent) of one graded student; empty when grading failed."""
        row, top = grades[student], float(grades[student]["max_score"])
        if row["status"] in FAILED:
            result.failed.append(student)
            return "", ""
        return _num(row["score"]), _num(100 * row["score"] / top if top else 0.0)

    if fmt == "csv":
        out = [["student", "score", "max_score", "percent", "status"]]
        for student in sorted(grades):
            if roster is None or student.casefold() in on_roster:
                points, pct = cells(student)
                result.written += points != ""
                out.append([student, points, _num(grades[student]["max_score"]), pct, grades[student]["status"]])
        out += [[s, "", "", "", "not graded"] for s in result.ungraded]
    else:
        cols = [c for c in IDENTITY[fmt] if c in header]
        if fmt == "moodle" and match not in cols:
            cols.append(match)
        out = [cols + [grade_col]]
        if fmt == "canvas":
            top = 100.0 if percent else float(next(iter(grades.values()))["max_score"])
            out.append([POINTS_POSSIBLE] + [""] * (len(cols) - 1) + [_num(top)])
        for key, person in on_roster.items():
            value = cells(by_key[key])[1 if percent else 0] if key in by_key else ""
            if value == "" and fmt == "moodle":  # an empty cell would clear the grade in Moodle
                continue
            result.written += value != ""
            out.append([person.get(c, "") for c in cols] + [value])
    with atomic_open(result.path, "w", newline="", encoding="utf-8") as handle:
        _write_rows(handle, out)
    return result
