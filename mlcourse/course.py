"""An nbgrader course folder: its config (``nbgrader_config.py``), directories and gradebook URL."""
import copy
from pathlib import Path

from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader

from .errors import BadInput


class CourseContext:
    """An nbgrader course folder: its config (``nbgrader_config.py``), directories and gradebook URL."""

    def __init__(self, root=".", db=None):
        self.root = Path(root).resolve()
        if not (self.root / "nbgrader_config.py").is_file():
            raise BadInput(f"expected an nbgrader course folder holding nbgrader_config.py, got {self.root}")
        self.db_arg = db
        self.config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        self.dirs = CourseDirectory(config=self.config, root=str(self.root))
        self.db_url = db or self.dirs.db_url

    def __reduce__(self):
        return (CourseContext, (str(self.root), self.db_arg))

    @property
    def grading_config(self):
        """The course config, with ``IgnorePattern`` on whenever it has a pattern (nbgrader wants
        ``IgnorePattern.enabled = True`` as well; a pattern alone is clearly meant to apply)."""
        cfg = copy.deepcopy(self.config)
        if cfg.IgnorePattern.get("pattern"):
            cfg.IgnorePattern.enabled = True
        return cfg

    def folder(self, step, student, assignment):
        return Path(self.dirs.format_path(step, student, assignment))

    def source_folder(self, assignment):
        return self.folder(self.dirs.source_directory, ".", assignment)
