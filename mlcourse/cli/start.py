"""``mlcourse start ASSIGNMENT``: copy a released assignment into a folder of the student's own
(``work/`` by default, which git ignores and no other command writes to). Files already there are
kept as they are, so running it again never touches work in progress."""
import shutil
from pathlib import Path

from ..release import ROOT, assignments
from ..errors import BadInput

WORK = ROOT / "work"


def start(assignment, into=WORK, root=ROOT):
    """Copy ``exercises/<assignment>`` into ``into/<assignment>``; returns (copied, kept) paths."""
    source, dest = Path(root) / "exercises" / assignment, Path(into) / assignment
    if not source.is_dir():
        raise BadInput(f"no released assignment {assignment!r} in {source.parent}; "
                         f"choose from {', '.join(assignments(root))}")
    copied, kept = [], []
    for path in sorted(p for p in source.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts):
        target = dest / path.relative_to(source)
        if target.exists():
            kept.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        copied.append(target)
    return copied, kept


def add_parser(sub):
    parser = sub.add_parser("start", help="copy an assignment into work/ to work on it (never overwrites)")
    parser.add_argument("assignment", help="e.g. 02_svm")
    parser.add_argument("--into", default=str(WORK), help="your own folder (default %(default)s)")
    parser.set_defaults(func=run)


def run(args):
    copied, kept = start(args.assignment, args.into)
    for path in copied:
        print(f"copied {path}")
    for path in kept:
        print(f"kept {path} as it is (already there)")
    notebook = Path(args.into) / args.assignment / f"{args.assignment}.ipynb"
    print(f"open {notebook} and work there: `make` and `mlcourse release` never write to {args.into}")
    return 0
