"""Reading a class's submissions: where they are (nbgrader's layout, a folder, a zip), whether a
file is a notebook at all, and what a student changed in the assignment's cells."""
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..errors import BadInput
from .language import notebook_language


STUDENT_ID = re.compile(r"^[\w@+\-][\w .@+\-]*$")


@dataclass
class Submission:
    """One student's notebook: a file (``path``), an entry ``member`` of the zip at ``path``, or
    nothing (missing). ``folder`` is the nbgrader submission folder (other files, timestamp)."""
    student: str
    path: str = None
    member: str = None
    folder: str = None

    def read(self, notebook=None):
        """The notebook's bytes, or None when it is missing; ``notebook``: which notebook of the
        submission folder (an assignment of several notebooks)."""
        if notebook is not None and self.folder is not None:
            path = Path(self.folder) / f"{notebook}.ipynb"
            return path.read_bytes() if path.is_file() else None
        if self.path is None:
            return None
        if self.member is not None:
            with zipfile.ZipFile(self.path) as archive:
                return archive.read(self.member)
        return Path(self.path).read_bytes()


def find_submissions(ctx, assignment, notebooks, source=None):
    """Submissions of ``assignment`` (its notebook names ``notebooks``, or one name), sorted by
    student, and the files ignored because their name is no usable student id. ``source``:
    nbgrader's submitted/<student>/<assignment>/ layout (default: the course's), or, for an
    assignment of one notebook, a folder of <student>.ipynb files or a zip of them."""
    notebooks = [notebooks] if isinstance(notebooks, str) else list(notebooks)
    source = Path(source) if source is not None else ctx.root / ctx.dirs.submitted_directory
    found, ignored = {}, []
    flat = source.is_file() or source.is_dir() and not any((d / assignment).is_dir() for d in source.iterdir())
    if len(notebooks) > 1 and flat:
        raise BadInput(f"assignment {assignment!r} has {len(notebooks)} notebooks ({', '.join(notebooks)}): "
                         f"grade it from nbgrader's layout <folder>/<student>/{assignment}/<notebook>.ipynb, "
                         "not a folder or zip of one notebook per student")
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise BadInput(f"--submissions expects a folder or a .zip of notebooks, got the file {source}")
        with zipfile.ZipFile(source) as archive:
            entries = [n for n in archive.namelist() if n.endswith(".ipynb") and "__MACOSX" not in n]
        named = [(Path(n).stem, n) for n in entries if not Path(n).name.startswith(".")]
        for student, entry in named:
            found.setdefault(student, []).append(Submission(student, str(source), member=entry))
    elif source.is_dir():
        layout = [d for d in source.iterdir() if (d / assignment).is_dir()]
        if layout:
            for folder in layout:
                present = [folder / assignment / f"{name}.ipynb" for name in notebooks
                           if (folder / assignment / f"{name}.ipynb").exists()]
                found.setdefault(folder.name, []).append(
                    Submission(folder.name, str(present[0]) if present else None, folder=str(folder / assignment)))
        else:
            for nb in source.glob("*.ipynb"):
                found.setdefault(nb.stem, []).append(Submission(nb.stem, str(nb)))
    elif source == ctx.root / ctx.dirs.submitted_directory:
        pass  # no submissions yet: only the roster's students, all missing
    else:
        raise BadInput(f"--submissions: no such folder or zip file: {source}")
    out = []
    for student, subs in found.items():
        if not STUDENT_ID.match(student):
            ignored += [s.member or s.path or s.folder for s in subs]
        elif len(subs) > 1:
            ignored += [f"{s.member or s.path} (several notebooks for {student})" for s in subs]
        else:
            out.append(subs[0])
    return sorted(out, key=lambda s: s.student), sorted(ignored)


class Rejected(Exception):
    """A submission that cannot be run: carries its status and reason."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status, self.reason = status, reason


def read_submission(data):
    """Parse notebook bytes; raise ``Rejected`` (status ``invalid``) saying what is wrong."""
    if not data.strip():
        raise Rejected("invalid", "the submitted file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise Rejected("invalid", f"the file is not UTF-8 text (byte {err.start}); a notebook is JSON") from None
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        raise Rejected("invalid", f"the file is not a notebook: invalid JSON at line {err.lineno}, "
                                  f"column {err.colno} ({err.msg})") from None
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as err:  # nbformat raises several kinds on malformed notebooks
        raise Rejected("invalid", f"the file is JSON but not a notebook: {err}") from None
    if not isinstance(nb.get("cells"), list):
        raise Rejected("invalid", "the file is JSON but not a notebook: it has no list of cells")
    return nb


def inspect_submission(nb, spec):
    """Compare the submission's cells with the assignment; return notes on what was changed
    (in place: cells whose nbgrader id the assignment lacks lose their nbgrader metadata, so
    they run as ordinary cells). Raise ``Rejected`` for a notebook of another assignment."""
    known = set(spec.order)
    ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells]
    counts = Counter(i for i in ids if i in known)
    foreign = sorted({i for i in ids if i and i not in known})
    if not counts:
        also = f"; its graded cells are {', '.join(foreign[:5])}" if foreign else ""
        raise Rejected("wrong-assignment", f"none of the cells of {spec.assignment} is in this notebook "
                                           f"(another assignment's notebook?){also}")
    notes = []
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in foreign:
            notes.append(f"cell id {cell.metadata['nbgrader']['grade_id']!r} is not in {spec.assignment} "
                         "(renamed?); it ran as an ordinary cell")
            del cell.metadata["nbgrader"]
    for name, points in spec.grade_cells.items():
        if name not in counts:
            notes.append(f"test cell {name} was deleted (0 of {points:g} points)")
    for name in spec.solution_cells:
        if name not in counts and name not in spec.grade_cells:
            notes.append(f"answer cell {name} was deleted")
    last = {i: cell for i, cell in zip(ids, nb.cells) if i in known}
    for name, n in counts.items():
        if n > 1:  # as nbgrader's DeduplicateIds, but leaving no empty metadata it would then reject
            notes.append(f"cell {name} appears {n} times; only the last copy counts")
            for i, cell in zip(ids, nb.cells):
                if i == name and cell is not last[name]:
                    del cell.metadata["nbgrader"]
    for name, texts in spec.released_in(notebook_language(nb)).items():
        cell = last.get(name)
        if cell is not None and cell.source.replace("\r\n", "\n") not in texts:
            notes.append(f"test cell {name} was edited; the original was restored")
    seen = list(dict.fromkeys(i for i in reversed(ids) if i in known))[::-1]
    expected = [i for i in spec.order if i in counts]
    if seen != expected:
        first = next(k for k, (a, b) in enumerate(zip(seen, expected)) if a != b)
        notes.append(f"cells are out of order: {seen[first]} comes before {expected[first]}")
    return notes
