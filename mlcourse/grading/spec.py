"""What grading knows of an assignment: registered in the gradebook from the course's source
folder (``register_assignment``) and read back from it (``AssignmentSpec``), with nbgrader's
hidden-test regions (``split_hidden``)."""
import contextlib
import fcntl
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.engine import make_url

from ..course import LANGUAGES
from ..errors import BadInput
from ..markers import HIDDEN, Delimiters, regions
from .judge import given_names, graded_names


@contextlib.contextmanager
def gradebook_lock(db_url):
    """Serialise set-up steps of graders sharing a gradebook: ``flock`` on a SQLite file (SQLite's
    own locks are POSIX record locks, independent of it), an advisory lock on PostgreSQL;
    nothing for other databases."""
    from sqlalchemy import create_engine, text

    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        with open(url.database, "ab") as handle:  # an empty file is a new SQLite database
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
    elif url.get_backend_name() == "postgresql":
        engine = create_engine(db_url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(727007)"))
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(727007)"))
        finally:
            engine.dispose()
    else:
        yield


def source_notebooks(ctx, assignment):
    """The paths of ``assignment``'s instructor notebooks in the source folder, by name."""
    folder = ctx.source_folder(assignment)
    if not folder.is_dir():
        raise BadInput(f"no assignment {assignment!r} in this course: expected its source folder {folder}")
    found = sorted(folder.glob("*.ipynb"))
    if not found:
        raise BadInput(f"no notebook in {folder}: an assignment's source folder holds its notebooks")
    return found


def source_notebook(ctx, assignment, notebook=None):
    """The path of ``assignment``'s instructor notebook ``notebook`` (default: its only one)."""
    found = source_notebooks(ctx, assignment)
    if notebook is not None:
        path = ctx.source_folder(assignment) / f"{notebook}.ipynb"
        if path not in found:
            raise BadInput(f"assignment {assignment!r} has no notebook {notebook!r} (it has "
                             f"{', '.join(p.stem for p in found)})")
        return path
    if len(found) != 1:
        raise BadInput(f"assignment {assignment!r} has {len(found)} notebooks ({', '.join(p.stem for p in found)}): "
                         "say which one")
    return found[0]


def _stale(ctx, assignment):
    """Why the gradebook's copy of ``assignment`` must be (re)built from the source, or ''."""
    paths = source_notebooks(ctx, assignment)
    url = make_url(ctx.db_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return "no gradebook yet"
    with Gradebook(ctx.db_url, ctx.dirs.course_id) as gb:
        try:
            stored_names = {nb.name for nb in gb.find_assignment(assignment).notebooks}
        except MissingEntry:
            return "not in the gradebook yet"
        if stored_names != {p.stem for p in paths}:
            return "its notebooks changed in the source"
        for path in paths:
            tests = {c.metadata["nbgrader"]["grade_id"]: c for c in nbformat.read(path, as_version=4).cells
                     if utils.is_grade(c) and not utils.is_solution(c)}
            notebook = gb.find_notebook(path.stem, assignment)
            stored = {c.name: c for c in notebook.source_cells}
            points = {c.name: float(c.max_score) for c in notebook.grade_cells}
            for name, cell in tests.items():
                if name not in stored or stored[name].source != cell.source \
                        or points.get(name) != float(cell.metadata["nbgrader"]["points"]):
                    return f"test cell {name} of {path.stem} changed in the source"
    return ""


def register_assignment(ctx, assignment):
    """Make sure the gradebook holds ``assignment`` as in the source folder (test cells, hidden
    tests, points), running ``nbgrader generate_assignment`` on a throw-away copy of the course
    when it is missing or stale, so that the released exercises are never touched."""
    from mlcourse.release import generated_course

    with gradebook_lock(ctx.db_url):
        if not _stale(ctx, assignment):
            return False
        with generated_course(ctx.root / "nbgrader_config.py", ctx.source_folder(assignment), assignment,
                              db_url=ctx.db_url, source_directory=ctx.dirs.source_directory):
            pass
        return True


def _edition(path, order, points, delimiters):
    """{locked cell id: [released, full source]} of the translated notebook at ``path``, after checking
    that its nbgrader cells are the English notebook's, in the same order with the same points."""
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")]
    ids = [c.metadata["nbgrader"]["grade_id"] for c in cells]
    theirs = {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"].get("points", 0)) for c in cells
              if c.metadata["nbgrader"].get("grade")}
    if ids != [i for i in order if i in set(ids)] or set(ids) != set(order) or theirs != points:
        raise BadInput(f"{path}: its graded cells differ from the English notebook's (ids, order or points); "
                       "a translation keeps every cell of the English one")
    out = {}
    for cell in cells:
        if cell.metadata["nbgrader"].get("locked"):
            lines = split_hidden(cell.source, delimiters)
            out[cell.metadata["nbgrader"]["grade_id"]] = [
                "\n".join(line for line, is_hidden in lines if not is_hidden), cell.source]
    return out


def split_hidden(source, delimiters=Delimiters()):
    """[(line, hidden)] for each line of ``source``; marker lines count as hidden (as in
    nbgrader's ``ClearHiddenTests``)."""
    return [(line, kind == HIDDEN) for kind, line, _ in regions(source, delimiters)]


@dataclass
class AssignmentSpec:
    """What grading needs to know of an assignment, read from the gradebook.

    grade_cells: test cell id -> points, in notebook order; solution_cells: ids of answer cells;
    released: locked cell id -> [its source as released (hidden tests removed), its full source];
    order: ids of all nbgrader cells in notebook order; hidden_lines: stripped lines that only
    hidden tests contain; fingerprint: hash of cells, checksums and points; judged: the names
    the answer cells define, when the source notebook's metadata asks for the judge
    (``"mlcourse": {"judge": "outside"}``: test cells run in the grader, see ``judge.py``), else None;
    given: the functions its given code cells define, which judged test cells may use too;
    answer_key: the dotted names of the reference objects its source notebook lists (``answer_key.py``);
    editions: language -> locked cell id -> [released, full source] of each translation's notebook
    (zh_CN/solutions/...), whose cells match the English notebook's id for id and point for point.
    """
    assignment: str
    notebook: str
    grade_cells: dict
    solution_cells: list
    released: dict
    order: list
    hidden_lines: list
    delimiters: Delimiters
    fingerprint: str
    judged: list = None
    given: list = field(default_factory=list)
    answer_key: list = field(default_factory=list)
    editions: dict = field(default_factory=dict)

    def released_in(self, language):
        """The locked cells' [released, full] texts as the notebook of ``language`` has them."""
        return self.editions.get(language, self.released)

    @property
    def max_score(self):
        return float(sum(self.grade_cells.values()))

    @classmethod
    def load_all(cls, ctx, assignment):
        """One spec per notebook of ``assignment``, by notebook name."""
        return [cls.load(ctx, assignment, name) for name in cls.notebook_names(ctx, assignment)]

    @staticmethod
    def notebook_names(ctx, assignment):
        with Gradebook(ctx.db_url, ctx.dirs.course_id) as gb:
            try:
                return sorted(nb.name for nb in gb.find_assignment(assignment).notebooks)
            except MissingEntry:
                raise BadInput(f"assignment {assignment!r} is not in the gradebook {ctx.db_url}") from None

    @classmethod
    def load(cls, ctx, assignment, notebook=None):
        """The spec of ``assignment``'s notebook ``notebook`` (default: its only one)."""
        names = cls.notebook_names(ctx, assignment)
        if notebook is None and len(names) != 1:
            raise BadInput(f"assignment {assignment!r} has {len(names)} notebooks ({', '.join(names)}): "
                             "say which one")
        if notebook is not None and notebook not in names:
            raise BadInput(f"assignment {assignment!r} has no notebook {notebook!r} (it has {', '.join(names)})")
        with Gradebook(ctx.db_url, ctx.dirs.course_id) as gb:
            nb = gb.find_notebook(notebook or names[0], assignment)
            points = {c.name: float(c.max_score) for c in nb.grade_cells}
            solutions = [c.name for c in nb.solution_cells]
            sources = {c.name: (c.source, c.checksum, c.locked) for c in nb.source_cells}
            name, kernelspec = nb.name, nb.kernelspec
        try:
            source_nb = nbformat.read(source_notebook(ctx, assignment, name), as_version=4)
            order = [c.metadata["nbgrader"]["grade_id"] for c in source_nb.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id") in sources]
            judged, given = None, []
            if source_nb.metadata.get("mlcourse", {}).get("judge") == "outside":
                judged, given = graded_names(source_nb), given_names(source_nb)
            answer_key = list(source_nb.metadata.get("mlcourse", {}).get("answer_key", []))
        except (ValueError, OSError):
            order, judged, given, answer_key = [], None, [], []
        order += sorted(set(sources) - set(order))
        delimiters = Delimiters.from_config(ctx.config)
        released, hidden, visible = {}, set(), set()
        for cell_id, (source, _, locked) in sources.items():
            lines = split_hidden(source, delimiters)
            hidden |= {line.strip() for line, is_hidden in lines if is_hidden}
            visible |= {line.strip() for line, is_hidden in lines if not is_hidden}
            if locked:
                released[cell_id] = ["\n".join(line for line, is_hidden in lines if not is_hidden), source]
        editions = {}
        for language in LANGUAGES[1:]:
            translated = ctx.source_folder(assignment, language) / f"{name}.ipynb"
            if not translated.exists():
                continue
            editions[language] = _edition(translated, order, points, delimiters)
            for cell_id, (_, full) in editions[language].items():
                lines = split_hidden(full, delimiters)
                hidden |= {line.strip() for line, is_hidden in lines if is_hidden}
                visible |= {line.strip() for line, is_hidden in lines if not is_hidden}
        digest = hashlib.sha256(json.dumps(
            [sorted((k, v[1], points.get(k)) for k, v in sources.items()), kernelspec, judged, given,
             editions]).encode())
        return cls(assignment=assignment, notebook=name,
                   grade_cells={k: points[k] for k in order if k in points}, solution_cells=solutions,
                   released=released, order=order, hidden_lines=sorted(hidden - visible - {""}),
                   delimiters=delimiters, fingerprint=digest.hexdigest(), judged=judged, given=given,
                   answer_key=answer_key, editions=editions)
