"""The ``mlcourse`` command. Each subcommand lives beside the code it drives and registers
itself through an ``add_parser(subparsers)`` function that sets ``func`` on its parser."""
import argparse
import importlib
import sys

# module path for each subcommand's add_parser, imported only when the command line needs it
COMMANDS = {
    "data": "mlcourse.data_cli",
    "release": "mlcourse.release",
    "train": "mlcourse.train_cli",
    "check-release": "mlcourse.release_check",
}


def build_parser():
    parser = argparse.ArgumentParser(prog="mlcourse", description="Deep-learning fundamentals course tools.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS.values():
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (ValueError, RuntimeError, FileNotFoundError) as err:
        print(f"mlcourse {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
