"""``mlcourse report ASSIGNMENT``: one self-contained HTML page about a graded class, for the
instructor. Read from the gradebook database alone (the rows ``mlcourse grade`` left in
``mlcourse_grading`` and ``mlcourse_similarity``, and nbgrader's manual grades); offline: no
script, no external stylesheet or font, the figures drawn with matplotlib and embedded as PNG
data URIs. Everything a student wrote (ids, messages, code) is HTML-escaped."""
import base64
import datetime
import html
import io
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from ..atomic import atomic_open
from ..course import Course
from ..errors import BadInput
from .item_stats import cell_stats, cells_of, graded_rows, score_summary
from .outcome import STATUSES
from .similarity import REFERENCE
from .store import ResultsTable, with_gradebook_scores

FORMGRADER = "http://localhost:8888"
SLOWEST = 10
MAX_ROWS, MAX_SIDE_BY_SIDE, MAX_NAMES = 50, 5, 12  # near-copies listed, shown side by side, named
TRUST = {"judged": "judged: test cells judged in the grader's process",
         "in-kernel": "in-kernel: nbgrader's in-kernel trust (the student's kernel ran the assertions)",
         None: "not recorded (graded before trust modes were recorded)"}
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72em; margin: 1.5em auto; padding: 0 1em; color: #222; }
h1 { margin-bottom: .2em; } .meta { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: .6em 0; } td, th { border: 1px solid #ccc; padding: .25em .6em;
  text-align: left; vertical-align: top; } th { background: #f3f4f6; } td.num { text-align: right; }
section { border-top: 1px solid #ddd; margin-top: 1.6em; } img { max-width: 100%; height: auto; }
.cards { display: flex; gap: 1em; flex-wrap: wrap; } .card { border: 1px solid #ddd; border-radius: 6px;
  padding: .5em 1em; min-width: 8em; } .card b { display: block; font-size: 1.5em; }
.pair { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: .8em; }
ul.names { columns: 14em; padding-left: 1.2em; }
pre { background: #f6f8fa; padding: .6em; overflow: auto; max-height: 22em; font-size: 13px; margin: .3em 0; }
ul.fail { margin: .2em 0; padding-left: 1.2em; } ul.fail li { font-family: ui-monospace, monospace; font-size: 13px; margin: .15em 0; }
.bad { color: #aa1111; } .ok { color: #116611; } .muted { color: #777; }
"""


def esc(text):
    return html.escape(str(text), quote=True)


def fmt(value, digits=2, percent=False):
    """A number for a table cell; '–' where undefined."""
    if value is None:
        return "–"
    return f"{value:.0%}" if percent else f"{value:.{digits}f}"


def plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def figure_uri(draw, size=(7, 2.8)):
    """A PNG data URI of the matplotlib figure that ``draw(ax)`` fills."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=100, layout="constrained")
    draw(fig.add_subplot())
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def score_figure(rows, top):
    scores = [float(r["score"]) for r in graded_rows(rows)]

    def draw(ax):
        ax.hist(scores, bins=min(20, max(5, int(top) or 5)), range=(min([0.0] + scores), top or 1.0),
                color="#4c78a8", edgecolor="white")
        ax.set_xlabel(f"score (of {top:g})")
        ax.set_ylabel("submissions")
    return figure_uri(draw)


def runtime_figure(times):
    def draw(ax):
        ax.hist(times, bins=20, color="#72b7b2", edgecolor="white")
        ax.set_xlabel("run time of the notebook (s)")
        ax.set_ylabel("submissions")
    return figure_uri(draw)


def manual_queue(ctx, assignment, rows):
    """{cell: [awaiting, graded]} for the written answers (outcome ``manual``), from nbgrader's
    gradebook: a grade counts as awaiting while it ``needs_manual_grade``, or when nbgrader has
    no grade for it. Also returns the assignment's notebook names."""
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy import create_engine, inspect

    wanted = {s: [c["name"] for c in cells_of(r) if c["outcome"] == "manual"] for s, r in rows.items()}
    wanted = {s: names for s, names in wanted.items() if names}
    queue = {name: [0, 0] for names in wanted.values() for name in names}
    engine = create_engine(ctx.db_url)
    try:
        has_gradebook = inspect(engine).has_table("submitted_notebook")
    finally:
        engine.dispose()
    notebooks, grades = [], {}
    if has_gradebook:
        with Gradebook(ctx.db_url, ctx.dirs.course_id) as gb:
            try:
                notebooks = [nb.name for nb in gb.find_assignment(assignment).notebooks]
            except MissingEntry:
                notebooks = []
            for student in wanted:
                for notebook in notebooks:
                    try:
                        found = gb.find_submission_notebook(notebook, assignment, student)
                    except MissingEntry:
                        continue
                    prefix = f"{notebook}/" if len(notebooks) > 1 else ""  # cells are named so in the rows
                    grades.update({(student, prefix + g.name): bool(g.needs_manual_grade) for g in found.grades})
    for student, names in wanted.items():
        for name in names:
            queue[name][0 if grades.get((student, name), True) else 1] += 1
    return queue, notebooks


def copy_groups(flags):
    """Students linked by near-copy flags between them, as groups (connected components):
    [(sorted members, that group's flags once per pair, most similar first)], largest first."""
    parent = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    pairs = {}
    for f in flags:
        if f.other != REFERENCE:
            parent[find(f.student)] = find(f.other)
            pairs.setdefault(frozenset((f.student, f.other)), f)
    groups = {}
    for f in pairs.values():
        groups.setdefault(find(f.student), []).append(f)
    out = [(sorted({s for f in fs for s in (f.student, f.other)}),
            sorted(fs, key=lambda f: (-f.similarity, f.student, f.other))) for fs in groups.values()]
    return sorted(out, key=lambda g: (-len(g[0]), -g[1][0].similarity, g[0]))


def _table(head, body, numeric=()):
    cells = "".join(f"<th>{h}</th>" for h in head)
    lines = ["".join(f'<td class="num">{v}</td>' if i in numeric else f"<td>{v}</td>" for i, v in enumerate(row))
             for row in body]
    return f"<table><tr>{cells}</tr>" + "".join(f"<tr>{line}</tr>" for line in lines) + "</table>"


def _scores_section(rows, summary):
    counts = Counter(r["status"] for r in rows)
    cards = [("students", len(rows)), ("notebooks run", summary["n"]),
             ("mean", fmt(summary["mean"])), ("median", fmt(summary["median"])),
             ("max score", f"{summary['max_score']:g}")]
    out = ["<section id='scores'><h2>Scores</h2><div class='cards'>"]
    out += [f"<div class='card'>{label}<b>{value}</b></div>" for label, value in cards]
    out.append("</div>")
    if summary["n"]:
        out.append(f"<img src='{score_figure(rows, summary['max_score'])}' alt='histogram of the scores' "
                   f"width='700' height='280'>")
    out.append("<h3>Statuses</h3>")
    out.append(_table(["status", "submissions"], [[esc(s), counts[s]] for s in STATUSES if counts[s]], numeric={1}))
    trouble = sorted((r for r in rows if r["status"] != "graded"), key=lambda r: (STATUSES.index(r["status"])
                     if r["status"] in STATUSES else len(STATUSES), r["student"]))
    if trouble:
        out.append("<h3>Not graded cleanly</h3>")
        out.append(_table(["student", "status", "reason"],
                          [[esc(r["student"]), esc(r["status"]), esc(r["reason"])] for r in trouble[:MAX_ROWS]]))
        if len(trouble) > MAX_ROWS:
            out.append(f"<p class='muted'>{MAX_ROWS} of {len(trouble)} shown; all are in the grade CSV.</p>")
    out.append("</section>")
    return "\n".join(out)


def _cells_section(stats):
    out = ["<section id='cells'><h2>Test cells</h2>",
           "<p class='muted'>Over the notebooks that ran. Difficulty: mean points / max points (1 = everyone "
           "got it). Discrimination: point-biserial correlation of the cell's points with the rest of the score "
           "(– where either has no variance).</p>"]
    body = [[esc(c.name), f"{c.max_points:g}", "manual" if c.manual else fmt(c.pass_rate, percent=True),
             fmt(c.mean_points), fmt(c.difficulty), fmt(c.discrimination)] for c in stats]
    out.append(_table(["cell", "points", "passed", "mean points", "difficulty", "discrimination"], body,
                      numeric={1, 2, 3, 4, 5}))
    failing = [c for c in stats if c.failures]
    if failing:
        out.append("<h3>Most common failures</h3><p class='muted'>Numbers masked as #, arrays as […].</p>")
    for c in failing:
        items = "".join(f"<li><b>{count}</b> × {esc(message)}</li>" for message, count in c.failures)
        out.append(f"<h4>{esc(c.name)}</h4><ul class='fail'>{items}</ul>")
    out.append("</section>")
    return "\n".join(out)


def _manual_section(assignment, queue, notebooks, formgrader):
    base = formgrader.rstrip("/")
    links = [f"<a href='{esc(base)}/formgrader/manage_submissions/{quote(assignment)}'>submissions of "
             f"{esc(assignment)}</a>"]
    links += [f"<a href='{esc(base)}/formgrader/gradebook/{quote(assignment)}/{quote(nb)}'>grade {esc(nb)}</a>"
              for nb in notebooks]
    awaiting = sum(a for a, _ in queue.values())
    out = ["<section id='manual'><h2>Manual grading</h2>"]
    if not queue:
        out.append("<p>No written answers to grade by hand.</p>")
    else:
        out.append(f"<p><b>{awaiting}</b> written answers await a grade. In nbgrader's formgrader: "
                   + " · ".join(links) + "</p>")
        out.append(_table(["cell", "awaiting", "graded"], [[esc(n), a, g] for n, (a, g) in queue.items()],
                          numeric={1, 2}))
    out.append("</section>")
    return "\n".join(out)


def _side_by_side(f):
    return (f"<h4>{esc(f.student)} and {esc(f.other)} ({fmt(f.similarity, percent=True)})</h4>"
            f"<div class='pair'><div>{esc(f.student)}<pre>{esc(f.mine)}</pre></div>"
            f"<div>{esc(f.other)}<pre>{esc(f.theirs)}</pre></div></div>")


def _names(members, limit=MAX_NAMES):
    shown = ", ".join(esc(m) for m in members[:limit])
    return shown + (f" and {len(members) - limit} more" if len(members) > limit else "")


def _similarity_section(flags):
    of_key = [f for f in flags if f.other == REFERENCE]
    groups = copy_groups(flags)
    out = ["<section id='similarity'><h2>Near-copies</h2>",
           "<p class='muted'>Shared code in the answer cells (names and strings masked, the released stubs "
           "left out), over the whole class. Reported, never scored; every flag is in the grade CSV's "
           "similar_to column.</p>"]
    if not flags:
        out.append("<p>None flagged.</p>")
    out.append(f"<h3>Copies of the answer key: {len(of_key)}</h3>")
    if of_key:
        out.append("<ul class='names'>" + "".join(f"<li>{esc(f.student)} ({fmt(f.similarity, percent=True)})</li>"
                                                  for f in of_key[:MAX_ROWS]) + "</ul>")
        if len(of_key) > MAX_ROWS:
            out.append(f"<p class='muted'>The {MAX_ROWS} most similar of {len(of_key)}.</p>")
        out += [_side_by_side(f) for f in of_key[:MAX_SIDE_BY_SIDE]]
    out.append(f"<h3>Students sharing code with each other: {sum(len(m) for m, _ in groups)} in "
               f"{plural(len(groups), 'group')}</h3>")
    if groups:
        out.append(_table(["group", "students", "pairs", "highest similarity", "members"],
                          [[k + 1, len(members), len(fs), fmt(fs[0].similarity, percent=True), _names(members)]
                           for k, (members, fs) in enumerate(groups[:MAX_ROWS])], numeric={0, 1, 2, 3}))
        out.append("<p class='muted'>Matched lines of the most similar pair of each group:</p>")
        out += [_side_by_side(fs[0]) for _, fs in groups[:MAX_SIDE_BY_SIDE]]
    out.append("</section>")
    return "\n".join(out)


def _runtime_section(rows):
    ran = sorted((r for r in rows if r.get("run_seconds")), key=lambda r: -float(r["run_seconds"]))
    out = ["<section id='runtime'><h2>Run time</h2>"]
    if not ran:
        out.append("<p>No run times recorded.</p>")
    else:
        times = [float(r["run_seconds"]) for r in ran]
        out.append(f"<p>Total {sum(times):.0f} s over {len(times)} notebooks; median "
                   f"{sorted(times)[len(times) // 2]:.1f} s.</p>")
        out.append(f"<img src='{runtime_figure(times)}' alt='histogram of the run times' width='700' height='280'>")
        out.append(f"<h3>The {min(SLOWEST, len(ran))} slowest</h3>")
        out.append(_table(["student", "seconds", "status"],
                          [[esc(r["student"]), f"{float(r['run_seconds']):.1f}", esc(r["status"])]
                           for r in ran[:SLOWEST]], numeric={1}))
    out.append("</section>")
    return "\n".join(out)


def _trust_section(rows):
    counts = Counter(r.get("trust") for r in rows if r["status"] not in ("missing",))
    body = [[esc(TRUST.get(mode, mode)), n] for mode, n in sorted(counts.items(), key=lambda kv: str(kv[0]))]
    return ("<section id='trust'><h2>Trust</h2><p>How the test cells of each graded submission were judged.</p>"
            + _table(["mode", "submissions"], body, numeric={1}) + "</section>")


def render(assignment, course_id, rows, flags, queue, notebooks, formgrader=FORMGRADER):
    """The page's HTML from the class's rows ({student: row}), flags and manual queue."""
    ordered = [rows[s] for s in sorted(rows)]
    summary = score_summary(ordered)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    title = f"{esc(assignment)}: class report"
    return "\n".join([
        "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{title}</title><style>{STYLE}</style></head><body>",
        f"<h1>{title}</h1><p class='meta'>course {esc(course_id or '–')} · {len(rows)} students · built {when}</p>",
        _scores_section(ordered, summary), _cells_section(cell_stats(ordered)),
        _manual_section(assignment, queue, notebooks, formgrader), _similarity_section(flags),
        _runtime_section(ordered), _trust_section(ordered), "</body></html>", ""])


def build_report(assignment, *, course=None, db=None, output=None, formgrader=FORMGRADER):
    """Write the class report of ``assignment`` (default ``<course>/reports/<assignment>.html``)
    and return its path. Raises ValueError when the gradebook holds no grades for it."""
    ctx = Course(course, db)
    table = ResultsTable(ctx.db_url)
    try:
        rows, flags = table.rows(assignment), table.flags(assignment)
    finally:
        table.close()
    if not rows:
        raise BadInput(f"no grades for {assignment} in {ctx.db_url}: run `mlcourse grade {assignment}` first")
    rows = with_gradebook_scores(ctx.db_url, ctx.dirs.course_id, assignment, rows)
    queue, notebooks = manual_queue(ctx, assignment, rows)
    page = render(assignment, ctx.dirs.course_id, rows, flags, queue, notebooks, formgrader)
    path = Path(output) if output else ctx.root / "reports" / f"{assignment}.html"
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return path
