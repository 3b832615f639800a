"""Check that nothing of the answer key reaches students: not the released notebooks in
``exercises/``, not the built site, not the class bundle and its student wheel, not the
feedback files.

The command line is ``mlcourse check-leaks`` (``mlcourse/cli/leaks.py``; ``check-release`` is its old name).

The answer key is read from the instructor notebooks ``solutions/<assignment>/*.ipynb``:

* markers: ``BEGIN/END SOLUTION``, ``BEGIN/END HIDDEN TESTS``, ``BEGIN/END MARK SCHEME``;
* solution lines: the lines between solution markers, or every line of a solution cell
  that has no markers (nbgrader replaces such a cell whole);
* hidden-test lines: the lines between hidden-test markers.

A secret line only counts when it is not *public*, that is when it appears nowhere outside those
regions in any instructor notebook (a hidden test may repeat a visible test's line), and when it
is not *trivial* (see :func:`is_trivial`). Lines are compared with all whitespace removed.

Text is read line by line: HTML with its tags stripped and entities unescaped (highlighted code
is split into spans), notebooks and JSON string by string, inline code (``<code>``, backticks)
on its own, and lines also without a leading prompt, line number or traceback arrow
(``>>>``, ``12``, ``----> 12``), so a hidden test quoted in a traceback is found too.

A feedback file ``<feedback dir>/<student>/<assignment>/...`` may show what that student wrote:
lines found in ``<submitted dir>/<student>/<assignment>/*.ipynb`` are not reported there.
"""
import functools
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..course import LANGUAGES, Course, find_root
from ..errors import MissingPath
from ..markers import HIDDEN, MARK_SCHEME, SOLUTION, Delimiters, regions


SECRET_KIND = {SOLUTION: "solution", HIDDEN: "hidden test", MARK_SCHEME: "solution"}  # what a leak is called

# A secret line shorter than this (whitespace removed) is trivial: `scores = X @ W`, `loss += margin`.
MIN_CHARS = 15
IMPORT_RE = re.compile(r"(import|from)\s+[\w.]+")
# names, numbers, attribute access, indexing and calls, but no operator and no string
PLUMBING_RE = re.compile(r"[\w\s.,:;=()\[\]{}]*")

TAG_RE = re.compile(r"<[^>]*>")
CODE_TAG_RE = re.compile(r"<code\b[^>]*>(.*?)</code>", re.S | re.I)
BACKTICK_RE = re.compile(r"`([^`\n]+)`")
JSON_STRING_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"')
PREFIX_RE = re.compile(r"^\s*(?:(?:-*>)?\s*\d+[:|]?\s|>>>\s?|\.\.\.\s|In \[[\d ]*\]:\s*)")
BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".ico", ".webp", ".pdf", ".woff", ".woff2", ".ttf",
                   ".eot", ".otf", ".inv", ".pickle", ".doctree", ".gz", ".zip", ".db", ".mo", ".npz", ".npy"}
SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", ".doctrees", ".jupyter_cache"}


@dataclass(frozen=True)
class Leak:
    path: str
    line: int
    reason: str

    def __str__(self):
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class Secret:
    kind: str      # "solution" or "hidden test"
    origin: str    # where it comes from, e.g. "solutions/02_svm/02_svm.ipynb, cell svm_loss_naive"
    text: str      # the line as written there


def squeeze(line):
    """The comparison key of a line: the line with every whitespace character removed."""
    return "".join(line.split())


def is_trivial(line, code=True):
    """Whether a line from a solution or hidden test is too common to count as a leak.

    Trivial: blank lines; lines under ``MIN_CHARS`` characters once whitespace is removed
    (``return out``, ``loss = 0.0``, ``scores = X @ W``, ``dx = dout * (x > 0)``); and, for code,
    comments, imports (``import numpy as np``) and plumbing: lines of names, numbers, attribute
    access, indexing and calls with no operator (``+ - * / @ % < > == & | ^ ~``) and no string,
    which compute nothing by themselves (``return loss, dW``, ``N, C = X.shape[0], W.shape[1]``,
    ``dW = np.zeros_like(W)``, ``out = np.maximum(0, x)``, ``h, cache = affine_forward(x, w, b)``).
    Book pages legitimately share such lines with notebooks; a solution or hidden test as a whole
    still has lines that compute (``margin = scores[j] - scores[y[i]] + 1``), and those are found.
    """
    text = line.strip()
    if not text or len(squeeze(text)) < MIN_CHARS:
        return True
    return code and (text.startswith("#") or IMPORT_RE.match(text) is not None
                     or (PLUMBING_RE.fullmatch(text) is not None and "==" not in text))


def _cell_label(cell, index):
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {grade_id}" if grade_id else f"cell {index + 1}"


def _cell_lines(cell):
    source = cell.get("source", "")
    return ("".join(source) if isinstance(source, list) else source).splitlines()


def _split_cell(cell, delimiters, where):
    """((kind or None, line) for each line of an nbgrader source cell; kind names the secret
    region the line is in, None for a public line. Marker lines themselves are skipped."""
    parsed = regions("\n".join(_cell_lines(cell)), delimiters, where)
    if cell.get("metadata", {}).get("nbgrader", {}).get("solution") and not any(m for _, _, m in parsed):
        return [("solution", line) for _, line, _ in parsed]  # nbgrader replaces such a cell whole
    return [(SECRET_KIND.get(kind), line) for kind, line, marker in parsed if not marker]


@functools.lru_cache(maxsize=8)
def course_delimiters(root):
    """The region delimiters of the course at ``root`` (its nbgrader config)."""
    return Delimiters.from_config(Course(root).config)


def answer_key(root=None):
    """{squeezed line: Secret} for every non-trivial, non-public line inside a solution or
    hidden-test region of the instructor notebooks (``<source directory>/*/*.ipynb``, in every
    edition) of the course at ``root`` (default: found from the current folder)."""
    course = Course(root)
    root, secrets, public = course.root, {}, set()
    notebooks = sorted(course.sources.glob("*/*.ipynb"))
    if not notebooks:
        raise MissingPath(f"no instructor notebooks in {course.sources}: expected <assignment>/<assignment>.ipynb")
    notebooks += [p for lang in LANGUAGES[1:] for p in sorted(course.sources_in(lang).glob("*/*.ipynb"))]
    for path in notebooks:
        origin = path.relative_to(root).as_posix()
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for index, cell in enumerate(cells):
            for kind, line in _split_cell(cell, course_delimiters(root), f"{origin}, {_cell_label(cell, index)}"):
                if kind is None:
                    public.add(squeeze(line))
                elif not is_trivial(line, code=cell.get("cell_type") == "code"):
                    where = f"{origin}, {_cell_label(cell, index)}"
                    secrets.setdefault(squeeze(line), Secret(kind, where, line.strip()))
    return {key: s for key, s in secrets.items() if key not in public}


def _strip_tags(text):
    """HTML to text, keeping its line breaks so line numbers stay those of the file."""
    return html.unescape(TAG_RE.sub(lambda m: "\n" * m.group().count("\n"), text))


def _json_strings(line):
    for literal in JSON_STRING_RE.findall(line):
        try:
            yield json.loads(literal)
        except json.JSONDecodeError:
            continue


def _candidates(text):
    """The texts in one piece of a file that are compared with the secret lines."""
    for line in text.splitlines() or [text]:
        yield line
        bare = PREFIX_RE.sub("", line, count=1)
        if bare != line:
            yield bare
        yield from BACKTICK_RE.findall(line)
        if "<" in line or "&" in line:
            stripped = _strip_tags(line)
            if stripped != line:
                yield stripped
                yield PREFIX_RE.sub("", stripped, count=1)


def file_lines(path):
    """(line number, candidate text) pairs for a text file; nothing for a binary one."""
    path = Path(path)
    if path.suffix.lower() in BINARY_SUFFIXES:
        return
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if path.suffix.lower() in {".html", ".htm", ".xhtml"}:
        for number, line in enumerate(_strip_tags(text).splitlines(), 1):
            for candidate in _candidates(line):
                yield number, candidate
        number, position = 1, 0
        for match in CODE_TAG_RE.finditer(text):
            number, position = number + text.count("\n", position, match.start()), match.start()
            yield number, _strip_tags(match.group(1))
    for number, line in enumerate(lines, 1):
        yield number, line
        if path.suffix.lower() in {".ipynb", ".json"} and '"' in line:
            for string in _json_strings(line):
                for candidate in _candidates(string):
                    yield number, candidate
        elif path.suffix.lower() not in {".html", ".htm", ".xhtml"}:
            for candidate in _candidates(line):
                yield number, candidate


def _files(folder):
    folder = Path(folder)
    if folder.is_file():
        yield folder
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not SKIP_DIRS.intersection(path.relative_to(folder).parts):
            yield path


def display_path(path, root):
    path = Path(path).resolve()
    try:
        return path.relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(path)


def scan_file(path, secrets, root=None, allowed=frozenset()):
    """Leaks in one file: markers, and lines of ``secrets`` whose key is not in ``allowed``.
    One leak per (line, reason)."""
    root = find_root(root)
    leaks, shown, delimiters = [], display_path(path, root), course_delimiters(root)
    for number, text in file_lines(path):
        found = delimiters.marker_in(text)
        if found:
            leaks.append(Leak(shown, number, f"answer-key marker {found!r}"))
        key = squeeze(text)
        if key in secrets and key not in allowed:
            s = secrets[key]
            leaks.append(Leak(shown, number, f"line of a {s.kind} ({s.origin}): {s.text}"))
    return list(dict.fromkeys(leaks))


def _submitted_lines(path, feedback_dir, submitted_dir):
    """Squeezed lines the student wrote, for a feedback file at <feedback>/<student>/<assignment>/..."""
    if submitted_dir is None or Path(feedback_dir).is_file():
        return frozenset()
    parts = Path(path).relative_to(feedback_dir).parts
    if len(parts) < 3:
        return frozenset()
    lines = set()
    for notebook in Path(submitted_dir, parts[0], parts[1]).glob("*.ipynb"):
        for cell in json.loads(notebook.read_text(encoding="utf-8")).get("cells", []):
            lines.update(squeeze(line) for line in _cell_lines(cell))
    return frozenset(lines)


def find_leaks(root=None, exercises_dir=None, site_dir=None, feedback_dirs=(), submitted_dir=None):
    """Every leak of the answer key of the course at ``root`` (default: found from the current
    folder), as a list of :class:`Leak`.

    exercises_dir: released notebooks (default: the release directory of every edition); site_dir: the
    built site (e.g. ``root/_build/html``, both editions; None skips it); feedback_dirs: feedback
    folders or files; submitted_dir: the students' submissions (see the module docstring), None for none.
    """
    course = Course(root)
    root, secrets = course.root, answer_key(course.root)
    leaks = []
    for folder in released_folders(course, exercises_dir) + ([Path(site_dir)] if site_dir is not None else []):
        if not folder.exists():
            raise MissingPath(f"{folder} does not exist")
        for path in _files(folder):
            leaks += scan_file(path, secrets, root)
    for folder in map(Path, feedback_dirs):
        if not folder.exists():
            raise MissingPath(f"feedback path {folder} does not exist")
        for path in _files(folder):
            leaks += scan_file(path, secrets, root, _submitted_lines(path, folder, submitted_dir))
    return leaks


def released_folders(course, exercises_dir=None):
    """``[exercises_dir]`` when given, else the release directory of every edition that has one."""
    if exercises_dir is not None:
        return [Path(exercises_dir)]
    return [course.released] + [f for f in map(course.released_in, LANGUAGES[1:]) if f.exists()]


def scan_wheel(path, secrets, root=None):
    """Leaks in a student wheel: a module outside the allow-list, a line of an instructor notebook's
    solution or hidden test or of an answer key's source (see ``mlcourse.answer_key``), or a
    definition of a name an assignment grades."""
    import ast
    import zipfile

    import nbformat

    from ..answer_key import reference_lines
    from ..grading.judge import graded_names
    from ..student_package import STUDENT_MODULES

    course = Course(root)
    root, reference = course.root, reference_lines(course.root)
    graded = {n for nb in course.sources.glob("*/*.ipynb") for n in graded_names(nbformat.read(nb, 4))}
    allowed = {f"mlcourse/{name}" for name in STUDENT_MODULES}
    leaks, shown = [], display_path(path, root)
    with zipfile.ZipFile(path) as wheel:
        for name in wheel.namelist():
            where = f"{shown}!{name}"
            if name not in allowed and not name.split("/")[0].endswith(".dist-info"):
                leaks.append(Leak(where, 0, "a file outside the student package's allow-list"))
            text = wheel.read(name).decode("utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), 1):
                key = squeeze(line)
                if key in secrets:
                    leaks.append(Leak(where, number, f"line of a {secrets[key].kind} ({secrets[key].origin})"))
                elif key in reference:
                    leaks.append(Leak(where, number, f"line of the answer key {reference[key]}"))
            if name.endswith(".py"):
                for node in ast.walk(ast.parse(text)):
                    if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in graded:
                        leaks.append(Leak(where, node.lineno, f"defines {node.name}, which an assignment grades"))
    return leaks


def find_bundle_leaks(bundle, root=None):
    """Every leak in a class bundle (``mlcourse release --bundle``): its notebooks and other files
    as for ``exercises/``, and its wheels by ``scan_wheel``."""
    root = find_root(root)
    bundle, secrets = Path(bundle), answer_key(root)
    if not bundle.is_dir():
        raise MissingPath(f"bundle folder {bundle} does not exist")
    wheels = sorted(bundle.glob("*.whl"))
    if not wheels:
        raise MissingPath(f"{bundle} holds no student wheel: write it with `mlcourse release --bundle {bundle}`")
    leaks = []
    for path in _files(bundle):
        leaks += scan_wheel(path, secrets, root) if path.suffix == ".whl" else scan_file(path, secrets, root)
    return leaks
