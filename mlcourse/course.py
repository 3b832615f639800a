"""An nbgrader course folder: where it is (``find_root``), its config (``nbgrader_config.py``),
its folders and its gradebook URL (``Course``). Release, the leak check and grading all find the
course this way: an explicit folder, else the nearest folder upward from the current one that
holds ``nbgrader_config.py``; never the installed package's own path."""
import copy
from pathlib import Path

from .errors import BadInput
from .grading.language import LANGUAGES, edition_folder

CONFIG = "nbgrader_config.py"


def find_root(course=None, marker=CONFIG):
    """The course folder: ``course`` when given (it must hold ``marker``), else the nearest
    folder from the current one upward that holds ``marker``."""
    if course is not None:
        root = Path(course).resolve()
        if not (root / marker).exists():
            raise BadInput(f"expected an nbgrader course folder holding {marker}, got {root}")
        return root
    here = Path.cwd().resolve()
    for folder in [here, *here.parents]:
        if (folder / marker).exists():
            return folder
    raise BadInput(f"no {marker} in {here} or any folder above it: run this in the course folder "
                   "or name it with --course DIR")


class Course:
    """An nbgrader course folder: its config, directories (``dirs``, nbgrader's
    ``CourseDirectory``) and gradebook URL. ``root`` None: found by ``find_root``."""

    def __init__(self, root=None, db=None):
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config.loader import PyFileConfigLoader

        self.root = find_root(root)
        self.db_arg = db
        self.config = PyFileConfigLoader(CONFIG, path=str(self.root)).load_config()
        self.dirs = CourseDirectory(config=self.config, root=str(self.root))
        self.db_url = db or self.dirs.db_url

    def __reduce__(self):
        return (Course, (str(self.root), self.db_arg))

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

    def edition(self, language="en"):
        """The folder of an edition: the course folder for English, ``zh_CN/`` in it for Chinese."""
        return edition_folder(self.root, language)

    def source_folder(self, assignment, language="en"):
        if language == "en":
            return self.folder(self.dirs.source_directory, ".", assignment)
        return self.sources_in(language) / assignment

    @property
    def sources(self):
        """The folder of the instructor notebooks (``source_directory``, e.g. solutions/)."""
        return self.root / self.dirs.source_directory

    def sources_in(self, language):
        """The instructor notebooks of one edition (solutions/ or zh_CN/solutions/)."""
        return self.edition(language) / self.dirs.source_directory

    @property
    def released(self):
        """The folder of what students receive (``release_directory``, e.g. exercises/)."""
        return self.root / self.dirs.release_directory

    def released_in(self, language):
        """What students of one edition receive (exercises/ or zh_CN/exercises/)."""
        return self.edition(language) / self.dirs.release_directory

    def languages(self, assignment):
        """The editions that have ``assignment``: "en" always, then every translation with its notebook."""
        return ["en"] + [lang for lang in LANGUAGES[1:]
                         if (self.source_folder(assignment, lang) / f"{assignment}.ipynb").exists()]

    def under(self, step):
        """The folder of one of nbgrader's steps (``submitted_directory``, ``feedback_directory``, ...)."""
        return self.root / getattr(self.dirs, step)


CourseContext = Course  # the name grading used first
