"""The ``mlcourse`` command: one module per subcommand in this package, each with an
``add_parser(subparsers)`` that sets ``func`` on its parser. One error policy: a ``CourseError``
(a user's mistake or a missing tool) prints its message and exits 2; anything else is a bug and
shows its traceback. ``--debug`` re-raises even a ``CourseError``; ``-v`` shows the log."""
import argparse
import importlib
import logging
import sys

from ..errors import CourseError

# module path for each subcommand's add_parser
COMMANDS = {
    "data": "mlcourse.cli.data",
    "release": "mlcourse.cli.release",
    "train": "mlcourse.cli.train",
    "grade": "mlcourse.cli.grade",
    "check-leaks": "mlcourse.cli.leaks",
    "start": "mlcourse.cli.start",
    "check": "mlcourse.cli.check",
    "export": "mlcourse.cli.export",
    "report": "mlcourse.cli.report",
    "site": "mlcourse.cli.site",
}
ALIASES = {"check-release": "check-leaks"}  # old names that scripts and the Makefile may still use


def add_course_options(parser, db=True):
    """``--course DIR`` (and ``--db URL``), as every command that works on a course reads them."""
    parser.add_argument("--course", metavar="DIR",
                        help="the course folder (default: the nearest folder upward holding nbgrader_config.py)")
    if db:
        parser.add_argument("--db", metavar="URL",
                            help="gradebook SQLAlchemy URL (default: the course's, sqlite gradebook.db)")


def _parser(names):
    parser = argparse.ArgumentParser(prog="mlcourse", description="Deep-learning fundamentals course tools.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the command does (to stderr)")
    parser.add_argument("--debug", action="store_true", help="show the traceback of every error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in names:
        importlib.import_module(COMMANDS[name]).add_parser(sub)
    return parser


def build_parser():
    """The parser with every subcommand registered (this imports each subcommand's module)."""
    return _parser(COMMANDS)


def _chosen(argv):
    """The subcommand named in ``argv`` (after the global options), or None."""
    for arg in argv:
        if not arg.startswith("-"):
            name = ALIASES.get(arg, arg)
            return name if name in COMMANDS else None
    return None


def _log_to_stderr(verbose):
    """The package's log on stderr: warnings always, everything with ``-v``."""
    logger = logging.getLogger("mlcourse")
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    for old in [h for h in logger.handlers if getattr(h, "mlcourse_cli", False)]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
    handler.mlcourse_cli = True
    logger.addHandler(handler)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    # import only the chosen subcommand (torch and nbgrader are slow to load); help or a
    # mistyped command get the full parser, which lists every choice
    chosen = _chosen(argv)
    args = _parser([chosen] if chosen else COMMANDS).parse_args(argv)
    _log_to_stderr(args.verbose)
    try:
        return args.func(args) or 0
    except CourseError as err:
        if args.debug:
            raise
        print(f"mlcourse {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
