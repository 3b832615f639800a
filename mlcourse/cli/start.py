"""``mlcourse start ASSIGNMENT [--language zh_CN]``: copy a released assignment (of the Chinese
edition with ``--language zh_CN``) into a folder of the student's own
(``work/`` by default, which git ignores and no other command writes to). Files already there are
kept as they are, so running it again never touches work in progress."""
import shutil
from pathlib import Path

from ..course import find_root
from ..errors import BadInput
from ..grading.language import LANGUAGES, edition_folder

RELEASED, WORK = "exercises", "work"


def start(assignment, into=None, root=None, language="en"):
    """Copy ``exercises/<assignment>`` (``zh_CN/exercises/<assignment>`` for ``language`` "zh_CN") of
    the course at ``root`` (default: the nearest folder upward holding exercises/; no nbgrader config
    needed) into ``into/<assignment>`` (default ``<course>/work``); returns (copied, kept) paths."""
    root = find_root(root, marker=RELEASED)
    released = edition_folder(root, language) / RELEASED
    source, dest = released / assignment, Path(into or root / WORK) / assignment
    if not source.is_dir():
        known = sorted(p.name for p in source.parent.iterdir() if p.is_dir())
        raise BadInput(f"no released assignment {assignment!r} in {source.parent}; choose from {', '.join(known)}")
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
    parser.add_argument("--into", help=f"your own folder (default: {WORK}/ beside {RELEASED}/)")
    parser.add_argument("--language", choices=LANGUAGES, default="en",
                        help="the edition: en (default) or zh_CN, the Chinese notebook (中文版)")
    parser.set_defaults(func=run)


def run(args):
    copied, kept = start(args.assignment, args.into, language=args.language)
    into = Path(args.into) if args.into else find_root(None, marker=RELEASED) / WORK
    for path in copied:
        print(f"copied {path}")
    for path in kept:
        print(f"kept {path} as it is (already there)")
    notebook = into / args.assignment / f"{args.assignment}.ipynb"
    print(f"open {notebook} and work there: `make` and `mlcourse release` never write to {into}")
    return 0
