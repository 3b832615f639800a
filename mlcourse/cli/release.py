"""``mlcourse release [ASSIGNMENT ...] [--language L] [--check-fresh] [--bundle DIR]``: regenerate
exercises/ from solutions/ with nbgrader (``mlcourse.release``), and zh_CN/exercises/ from
zh_CN/solutions/ for the assignments the Chinese edition has."""
import sys
import tempfile
from pathlib import Path

from ..course import LANGUAGES, Course
from ..errors import BadInput
from ..release import assignments, differences, generate, write_bundle
from . import add_course_options


def add_parser(sub):
    parser = sub.add_parser("release", help="regenerate exercises/ from solutions/ with nbgrader")
    parser.add_argument("assignment", nargs="*", help="default: every assignment in solutions/")
    parser.add_argument("--check-fresh", "--check", action="store_true", dest="check_fresh",
                        help="only say whether exercises/ is what release would write now (exit 1 if not); "
                             "--check is the old spelling")
    parser.add_argument("--bundle", metavar="DIR", help="also write what a class receives into DIR: the released "
                                                        "notebooks and the student wheel of mlcourse")
    parser.add_argument("--language", choices=LANGUAGES, action="append",
                        help="the edition to release (repeat for more; default: every edition that has the assignment)")
    add_course_options(parser, db=False)
    parser.set_defaults(func=run)


def run(args):
    course = Course(args.course)
    known = assignments(course.root)
    unknown = [name for name in args.assignment if name not in known]
    if unknown:
        raise BadInput(f"no assignment {', '.join(unknown)} in {course.dirs.source_directory}/; choose from {', '.join(known)}")
    stale, languages = [], args.language or LANGUAGES
    for name in args.assignment or known:
        for language in [lang for lang in course.languages(name) if lang in languages]:
            committed = course.released_in(language) / name
            shown = committed.relative_to(course.root).as_posix()
            if args.check_fresh:
                with tempfile.TemporaryDirectory() as tmp:
                    fresh = generate(name, Path(tmp) / name, course.root, language)
                    diff = differences(committed, fresh) if committed.exists() else ["(missing)"]
                if diff:
                    stale.append(f"{shown}: {', '.join(diff)}")
            else:
                generate(name, committed, course.root, language)
                print(f"released {shown}")
    if args.bundle and not args.check_fresh:
        write_bundle(args.bundle, args.assignment or known, course.root, languages)
        print(f"wrote the class bundle to {args.bundle}; check it with `mlcourse check-leaks --bundle {args.bundle}`")
    if stale:
        print("out of date; run `make` (or `mlcourse release`) to regenerate:\n  " + "\n  ".join(stale), file=sys.stderr)
        return 1
    return 0
