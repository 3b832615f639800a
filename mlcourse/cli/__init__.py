"""The ``mlcourse`` command. Each subcommand lives beside the code it drives and registers
itself through an ``add_parser(subparsers)`` function that sets ``func`` on its parser."""
import argparse
import importlib
import sys

# module path for each subcommand's add_parser
COMMANDS = {
    "data": "mlcourse.data_cli",
    "release": "mlcourse.release",
    "train": "mlcourse.train_cli",
    "grade": "mlcourse.grading.cli",
    "check-release": "mlcourse.release_check",
    "start": "mlcourse.cli.start",
    "check": "mlcourse.cli.check",
    "export": "mlcourse.cli.export",
    "report": "mlcourse.cli.report",
}


def _parser(names):
    parser = argparse.ArgumentParser(prog="mlcourse", description="Deep-learning fundamentals course tools.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in names:
        importlib.import_module(COMMANDS[name]).add_parser(sub)
    return parser


def build_parser():
    """The parser with every subcommand registered (this imports each subcommand's module)."""
    return _parser(COMMANDS)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    # import only the chosen subcommand (torch and nbgrader are slow to load); help or a
    # mistyped command get the full parser, which lists every choice
    names = argv[:1] if argv and argv[0] in COMMANDS else COMMANDS
    args = _parser(names).parse_args(argv)
    try:
        return args.func(args) or 0
    except (ValueError, RuntimeError, FileNotFoundError) as err:
        print(f"mlcourse {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
