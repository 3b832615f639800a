"""The errors a user can fix: the command line prints their message and exits 2; any other
exception is a bug and shows its traceback."""


class CourseError(Exception):
    """Something the user gave or set up is wrong; the message says what and what to do."""


class BadInput(CourseError, ValueError):
    """An option, a file's content or a course folder that cannot be used."""


class MissingPath(CourseError, FileNotFoundError):
    """A file or folder the user named (or the command needs) is not there."""


class SetupError(CourseError, RuntimeError):
    """The machine lacks what the command needs (a tool, the network, a sandbox)."""
