"""The two editions side by side: an English page of book/ and its Chinese page of zh_CN/book/,
an English instructor notebook of solutions/ and its Chinese one of zh_CN/solutions/.

    en, zh = read_page("book/03_softmax.md"), read_page("zh_CN/book/03_softmax.md")
    problems = compare_pages(en, zh, load_glossary())   # [] when the pair agrees
    problems = compare_notebooks(en_nb, zh_nb, load_glossary())

A page is split into sections at its headings; the two editions must have the same headings, level
for level and in the same order, so the n-th section of one is the n-th of the other. Within a
pair of sections every glossary term the English prose uses must appear in the Chinese prose as the
glossary's `zh` form. The code cells must agree once their string literals and comments, the only
words a cell shows, are masked (and the `alt` text of their figures).

A notebook pair must have the same cells, ids and nbgrader metadata; its code may differ only in the
words shown: comments, docstrings, the description a check is given (the first argument of an
``assert_*``/``check_*`` call or an ``AssertionError``, the message of an ``assert``), and the text of ``print`` and of
figure titles, labels and annotations. Every other string (a key, a part name, a mode) is code.
"""
import ast
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^(`{3,}|~{3,})(.*)$")
NOT_PROSE = re.compile(r"^\s*(%|:[\w-]+:(\s|$)|:{3,})")  # comments, directive options, colon fences
MASK = "…"


@dataclass
class Section:
    """One heading and the prose under it, up to the next heading; `level` 0 is the text before any."""
    level: int
    title: str
    prose: list = field(default_factory=list)

    def text(self):
        """The heading and prose on one line, without inline code, math, link targets, emphasis or roles."""
        text = " ".join([self.title] + self.prose)
        text = re.sub(r"\$\$.*?\$\$|\$[^$]+\$|`[^`]*`", " ", text)
        text = re.sub(r"\]\([^)]*\)|\{\w+\}|<[^>]*>|\(\w[\w-]*\)=", " ", text).replace("*", "")
        return " ".join(text.split())


@dataclass
class Page:
    path: Path
    sections: list
    code_cells: list  # (options dict, code) in page order


def read_page(path):
    """Split a MyST Markdown page into sections and code cells (front matter and other fences skipped)."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    if lines and lines[0] == "---":
        end = lines.index("---", 1)
        lines = lines[end + 1:]
    sections, cells = [Section(0, "")], []
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if fence:
            marker, info = fence.groups()
            j = i + 1
            while j < len(lines) and not lines[j].startswith(marker):
                j += 1
            if info.strip().startswith("{code-cell}"):
                cells.append(_code_cell(lines[i + 1:j]))
            i = j + 1
            continue
        heading = HEADING.match(lines[i])
        if heading:
            sections.append(Section(len(heading.group(1)), heading.group(2)))
        elif not NOT_PROSE.match(lines[i]):
            sections[-1].prose.append(lines[i])
        i += 1
    return Page(path, sections, cells)


def _code_cell(body):
    """(options, code) of a code cell whose body may open with a `---` YAML block or `:key: value` lines."""
    options = {}
    if body and body[0] == "---":
        end = body.index("---", 1)
        options, body = yaml.safe_load("\n".join(body[1:end])) or {}, body[end + 1:]
    while body and re.match(r"^:\w[\w-]*:", body[0]):
        key, value = body[0][1:].split(":", 1)
        options[key] = value.strip()
        body = body[1:]
    return options, "\n".join(body)


def _mask_options(value):
    if isinstance(value, dict):
        return {k: MASK if k in ("alt", "caption") else _mask_options(v) for k, v in value.items()}
    return value


def masked_code(code, shown=None):
    """The cell's tokens with its string literals replaced by … (only those inside the ``shown``
    spans, when given) and comments and blank lines dropped."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return code.strip()
    kept = []
    for token in tokens:
        masked = shown is None or any(a <= token.start and token.end <= b for a, b in shown)
        if token.type == tokenize.STRING and masked:
            kept.append(MASK)
        elif token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER):
            kept.append(token.string)
    return " ".join(kept)


SHOWN_CALLS = {"print", "title", "suptitle", "xlabel", "ylabel", "set_title", "set_xlabel", "set_ylabel",
               "text", "annotate", "legend", "set_language"}
SHOWN_KEYWORDS = {"label", "title", "xlabel", "ylabel"}


def shown_strings(code):
    """(start, end) positions ((line, col) pairs) of the string literals of ``code`` that are words
    shown to the reader, as the module docstring defines them; None if the code does not parse."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    spans, lines = [], code.splitlines()

    def chars(lineno, offset):  # ast counts UTF-8 bytes, tokenize counts characters
        return len(lines[lineno - 1].encode("utf-8")[:offset].decode("utf-8", errors="ignore"))

    def strings(node):
        return [n for n in ast.walk(node) if isinstance(n, (ast.JoinedStr, ast.Constant)) and
                (isinstance(n, ast.JoinedStr) or isinstance(n.value, str))]

    for node in ast.walk(tree):
        shown = []
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
            if name in SHOWN_CALLS:
                shown += [s for arg in node.args for s in strings(arg)]
            elif (name.startswith(("assert_", "check_")) or name in ("IntegrityError", "AssertionError")) and node.args:
                shown += strings(node.args[0])
            shown += [s for kw in node.keywords if kw.arg in SHOWN_KEYWORDS for s in strings(kw.value)]
        elif isinstance(node, ast.Assert) and node.msg is not None:
            shown += strings(node.msg)
        elif isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            if docstring and isinstance(first.value.value, str):
                shown.append(first.value)
        spans += [((s.lineno, chars(s.lineno, s.col_offset)), (s.end_lineno, chars(s.end_lineno, s.end_col_offset)))
                  for s in shown]
    return spans


def masked_notebook_code(code):
    """The cell's tokens with the shown strings (``shown_strings``) replaced by … and comments
    dropped; every other string literal is kept as code."""
    spans = shown_strings(code)
    return code.strip() if spans is None else masked_code(code, spans)


def compare_notebooks(en, zh, entries, where="the Chinese notebook"):
    """Problems of an English/Chinese pair of instructor notebooks (nbformat objects); [] if none."""
    problems = []
    if len(en.cells) != len(zh.cells):
        return [f"{where}: {len(zh.cells)} cells, the English has {len(en.cells)}; keep every cell, in order"]
    if zh.metadata.get("mlcourse", {}).get("language") != "zh_CN":
        problems.append(f"{where}: its metadata must say mlcourse.language = 'zh_CN'")
    grader = {k: v for k, v in en.metadata.get("mlcourse", {}).items() if k != "language"}
    if {k: v for k, v in zh.metadata.get("mlcourse", {}).items() if k != "language"} != grader:
        problems.append(f"{where}: its mlcourse metadata (judge, answer key) differs from the English")
    for number, (e, z) in enumerate(zip(en.cells, zh.cells)):
        label = f"{where}, cell {number} ({e.metadata.get('nbgrader', {}).get('grade_id') or e.cell_type})"
        if (e.cell_type, e.get("id"), e.metadata) != (z.cell_type, z.get("id"), z.metadata):
            problems.append(f"{label}: type, id or metadata differ from the English cell")
        elif e.cell_type == "code" and masked_notebook_code(e.source) != masked_notebook_code(z.source):
            problems.append(f"{label}: the code differs from the English cell in more than the words it shows")
        elif e.cell_type == "markdown":
            chinese = "".join(Section(1, "", z.source.splitlines()).text().split())
            missing = [f"{t.en} → {t.zh}" for t in terms_used(Section(1, "", e.source.splitlines()).text(), entries)
                       if "".join(t.zh.split()) not in chinese]
            if missing:
                problems.append(f"{label}: the English uses these terms but the Chinese lacks the glossary's "
                                f"translation: {', '.join(missing)}")
    return problems


def terms_used(text, entries):
    """The entries whose English forms the text uses; a use inside a longer term's (e.g. "gate" in
    "add gate") counts only for the longer term."""
    spans = []
    for entry in entries:
        for form in (entry.en,) + entry.aliases_en:
            for match in re.finditer(r"(?<![\w-])" + re.escape(form) + r"(?![\w-])", text, re.I):
                spans.append((match.start(), match.end(), entry))
    used = []
    for start, end, entry in spans:
        inside = any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in spans)
        if not inside and entry not in used:
            used.append(entry)
    return used


def compare_pages(en, zh, entries):
    """Problems of one English/Chinese pair of pages, each a line naming the section or cell; [] if none."""
    problems = []
    en_heads = [(s.level, s.title) for s in en.sections]
    zh_heads = [(s.level, s.title) for s in zh.sections]
    if [lv for lv, _ in en_heads] != [lv for lv, _ in zh_heads]:
        problems.append(f"{zh.path}: headings differ from {en.path}: English {_outline(en_heads)}, "
                        f"Chinese {_outline(zh_heads)}; give both the same headings in the same order")
    else:
        for number, (es, cs) in enumerate(zip(en.sections, zh.sections)):
            chinese = "".join(cs.text().split())
            missing = [f"{e.en} → {e.zh}" for e in terms_used(es.text(), entries)
                       if "".join(e.zh.split()) not in chinese]
            if missing:
                where = (f"section {number} ({es.title!r} / {cs.title!r})" if number
                         else "the text before the first heading")
                problems.append(f"{zh.path}, {where}: the English uses these terms but the Chinese lacks "
                                f"the glossary's translation: {', '.join(missing)}")
    if len(en.code_cells) != len(zh.code_cells):
        problems.append(f"{zh.path}: {len(zh.code_cells)} code cells, {en.path} has {len(en.code_cells)}")
    for number, ((e_opt, e_code), (z_opt, z_code)) in enumerate(zip(en.code_cells, zh.code_cells), start=1):
        if _mask_options(e_opt) != _mask_options(z_opt):
            problems.append(f"{zh.path}, code cell {number}: options differ from the English cell")
        if masked_code(e_code) != masked_code(z_code):
            first = next((line for line in e_code.splitlines() if line.strip()), "")
            problems.append(f"{zh.path}, code cell {number} (English starts {first[:60]!r}): the code differs "
                            "from the English cell in more than its strings and comments")
    return problems


def _outline(heads):
    return " ".join(f"{'#' * level}" for level, _ in heads[1:]) or "(none)"
