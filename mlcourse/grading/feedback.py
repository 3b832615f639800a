"""Per-student feedback as one self-contained HTML page.

For each test cell: the points, the visible tests as the student received them with their
result and message, and for hidden tests only passed / failed / not run. Hidden test source
never appears: the page is built from the released text of the test cells, not from the graded
notebook, and every other text on it (the student's own code, error messages, reasons) is
scrubbed of any line that only hidden tests contain, in case student code copied them out.
"""
import html
import json
from difflib import SequenceMatcher

from nbgrader import utils

from .language import notebook_language, say, speaking
from .outcome import NOT_RUN, STOPPED, UNANSWERED

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .3em .7em; text-align: left; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; }
.passed { color: #116611; } .failed, .missing { color: #aa1111; } .not-run, .manual { color: #886600; }
section { border-top: 1px solid #ddd; margin-top: 1.5em; }
"""
OUR_ERRORS = (STOPPED, NOT_RUN, "CellTimeoutError")


def scrubber(spec, fragment=16):
    """A function that replaces, in any text, each line that only hidden tests contain by
    [hidden]; with ``fragments=True`` (for text made while grading: messages, reasons) also any
    piece of such a line at least ``fragment`` characters long."""
    lines = sorted((line for line in spec.hidden_lines if line.strip()), key=len, reverse=True)

    def scrub(text, fragments=False):
        text = str(text)
        for line in lines:
            text = text.replace(line, "[hidden]")
            while fragments:
                match = SequenceMatcher(None, text, line, autojunk=False).find_longest_match(0, len(text), 0, len(line))
                if match.size < fragment:
                    break
                text = text[:match.a] + "[hidden]" + text[match.a + match.size:]
        return text
    return scrub


def _results(outcome, has_hidden):
    """(visible result, visible message, hidden result) of a test cell, for the student; the results are
    the English keys ("passed", "not run", ...) that name their CSS class and ``say`` translates."""
    kind, where, message = outcome["outcome"], outcome["where"], outcome["message"]
    ename = message.split(":", 1)[0]
    if kind == "passed":
        return "passed", "", "passed" if has_hidden else ""
    if kind == "missing":
        return "missing", say("this test cell was not in your notebook"), ""
    if kind == "manual":
        return "graded by hand", "", ""
    if message == UNANSWERED:
        return "failed", say("no answer written"), ""
    if kind == "not-run":
        return "not run", message.split(": ", 1)[-1], "not run" if has_hidden else ""
    if where == "hidden":
        return "passed", "", "failed"
    if where == "visible" or not has_hidden:
        return "failed", message, "not run" if has_hidden else ""
    # the failing line is unknown (a stopped kernel, stderr): say only what the grader itself wrote
    return "failed", message if ename in OUR_ERRORS else say("the cell failed (details withheld)"), "not run"


def _shown(result):
    """A result key of ``_results`` in the reader's language ("" stays "")."""
    words = {"passed": say("passed"), "failed": say("failed"), "not run": say("not run"),
             "missing": say("missing"), "graded by hand": say("graded by hand")}
    return words.get(result, result)


def render_feedback(spec, student, row, nb=None):
    """HTML feedback for ``student`` from their result ``row`` (as in ``mlcourse_grading``) and,
    when it ran, their executed notebook ``nb`` (for their own code), in the notebook's language."""
    language = notebook_language(nb) if nb is not None else "en"
    with speaking(language):
        return _render(spec, student, row, nb, language)


def _render(spec, student, row, nb, language):
    scrub = scrubber(spec)
    esc = lambda text: html.escape(scrub(text, fragments=True))  # noqa: E731
    cells = {c["name"]: c for c in json.loads(row["cells"])}
    answers = {}
    if nb is not None:
        for cell in nb.cells:
            if utils.is_solution(cell) and not utils.is_grade(cell):
                answers[cell.metadata["nbgrader"]["grade_id"]] = cell.source
    title = esc(say("{assignment}: feedback for {student}", assignment=spec.assignment, student=student))
    lang = "zh-CN" if language == "zh_CN" else "en"
    parts = [f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><title>{title}</title>"
             f"<style>{STYLE}</style></head><body>", f"<h1>{title}</h1>",
             "<p><b>" + esc(say("Score: {score:g} / {max_score:g}", score=row["score"], max_score=row["max_score"]))
             + "</b> &nbsp; " + esc(say("status: {status}", status=row["status"])) + "</p>"]
    if row["reason"]:
        parts.append(f"<p>{esc(row['reason'])}</p>")
    headers = (say("test cell"), say("points"), say("visible tests"), say("hidden tests"))
    parts.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in headers) + "</tr>")
    sections = []
    for name in spec.grade_cells:
        outcome = cells.get(name, {"outcome": "missing", "where": "", "message": "", "points": 0.0,
                                   "max_points": spec.grade_cells[name]})
        released, full = spec.released_in(language).get(name, ["", ""])
        has_hidden = released != full
        visible, message, hidden = _results(outcome, has_hidden)
        cls, hidden_cls = visible.replace(" ", "-"), hidden.replace(" ", "-")
        shown, shown_hidden = esc(_shown(visible)), esc(_shown(hidden))
        parts.append(f"<tr><td>{esc(name)}</td><td>{outcome['points']:g} / {outcome['max_points']:g}</td>"
                     f"<td class='{cls}'>{shown}</td><td class='{hidden_cls}'>{shown_hidden}</td></tr>")
        body = ["<section><h2>" + esc(say("{cell}: {points:g} / {max_points:g} points", cell=name,
                                          points=outcome["points"], max_points=outcome["max_points"])) + "</h2>",
                f"<p>{esc(say('Visible tests:'))} <span class='{cls}'>{shown}</span></p>"]
        if message:
            body.append(f"<pre>{esc(message)}</pre>")
        body.append(f"<details><summary>{esc(say('the visible tests'))}</summary>"
                    f"<pre>{html.escape(released)}</pre></details>")
        if has_hidden:
            body.append(f"<p>{esc(say('Hidden tests:'))} <span class='{hidden_cls}'>{shown_hidden}</span></p>")
        sections.append("".join(body) + "</section>")
    parts.append("</table>")
    parts += sections
    if answers:
        parts.append(f"<section><h2>{esc(say('Your answers'))}</h2>")
        parts += [f"<h3>{esc(name)}</h3><pre>{html.escape(scrub(source))}</pre>" for name, source in answers.items()]
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
