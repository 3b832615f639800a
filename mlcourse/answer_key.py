"""Each assignment's answer key: the reference objects its source notebook lists in its metadata
(``"mlcourse": {"answer_key": ["mlcourse.scratch.linear.svm_loss_naive", ...]}``: the reference
of every graded function or class, and what they are built on), and the lines of their source,
to look for wherever students must not find them (the student wheel, the sandbox)."""
import importlib
import inspect
import json
import re
from pathlib import Path

from .course import Course
from .errors import BadInput
from .release.leaks import is_trivial, squeeze

# a call of an input check of ``mlcourse.checks``, shared by the reference and the student package
VALIDATION_RE = re.compile(r"\s*([\w, ]+=\s*)?check_\w+\(")


def listed(notebook):
    """The dotted names a source notebook (a path or a parsed notebook dict) lists as its answer key."""
    nb = json.loads(Path(notebook).read_text(encoding="utf-8")) if isinstance(notebook, (str, Path)) else notebook
    names = nb.get("metadata", {}).get("mlcourse", {}).get("answer_key", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise BadInput(f"the answer_key of {notebook} must be a list of dotted names, got {names!r}")
    return names


def resolve(name):
    """The module, class or function a dotted name like ``mlcourse.scratch.linear.LinearSVM`` names."""
    try:
        return importlib.import_module(name)
    except ImportError:
        module, _, attr = name.rpartition(".")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError, ValueError):
            raise BadInput(f"the answer key lists {name!r}, which names nothing importable") from None


def reference_lines(root=None):
    """{squeezed line: dotted name} of the non-trivial source lines of every answer key listed by
    the instructor notebooks (``<source directory>/*/*.ipynb``) of the course at ``root``."""
    lines = {}
    for notebook in sorted(Course(root).sources.glob("*/*.ipynb")):
        for name in listed(notebook):
            for line in inspect.getsource(resolve(name)).splitlines():
                if not is_trivial(line) and not VALIDATION_RE.match(line) and not line.strip().startswith(('"""', "'''")):
                    lines.setdefault(squeeze(line), name)
    return lines
