"""``mlcourse check-leaks [--site DIR] [--exercises DIR] [--bundle DIR] [--submitted DIR] [FEEDBACK ...]``
(also ``check-release``, its old name): nothing of the answer key in what students receive
(``mlcourse.release_check``)."""
import sys
from pathlib import Path

from ..course import Course
from ..errors import MissingPath
from ..release.leaks import answer_key, display_path, find_bundle_leaks, find_leaks, released_folders


def add_parser(sub):
    parser = sub.add_parser("check-leaks", aliases=["check-release"],
                            help="fail if solutions or hidden tests reach exercises/, the site, the bundle or feedback "
                                 "(check-release is its old name)")
    parser.add_argument("feedback", nargs="*",
                        help="feedback files or folders to check (default: the course's feedback/ when present)")
    parser.add_argument("--course", "--root", metavar="DIR", dest="course",
                        help="the course folder (default: the nearest folder upward holding nbgrader_config.py; "
                             "--root is the old spelling)")
    parser.add_argument("--exercises", help="released notebooks (default: the course's exercises/)")
    parser.add_argument("--site", help="built site, checked when present (default: the course's _build/html)")
    parser.add_argument("--bundle", help="a class bundle written by `mlcourse release --bundle`, checked too")
    parser.add_argument("--submitted", help="submissions, whose own lines a student's feedback may show "
                                            "(default: the course's submitted/ when present)")
    parser.set_defaults(func=run)


def run(args):
    course = Course(args.course)
    root = course.root
    exercises = released_folders(course, args.exercises)
    site = Path(args.site or root / "_build" / "html")
    if args.site and not site.exists():
        raise MissingPath(f"site folder {site} does not exist")
    feedback = [Path(p) for p in args.feedback] or [p for p in [course.under("feedback_directory")] if p.exists()]
    submitted = Path(args.submitted or course.under("submitted_directory"))
    if args.submitted and not submitted.exists():
        raise MissingPath(f"submissions folder {submitted} does not exist")
    leaks = find_leaks(root, exercises_dir=args.exercises, site_dir=site if site.exists() else None,
                       feedback_dirs=feedback, submitted_dir=submitted if submitted.exists() else None)
    bundle = [Path(args.bundle)] if args.bundle else []
    for folder in bundle:
        leaks += find_bundle_leaks(folder, root)
    for leak in leaks:
        print(leak)
    checked = ", ".join(display_path(p, root) for p in exercises + [site] * site.exists() + feedback + bundle)
    if leaks:
        print(f"check-leaks: {len(leaks)} leak(s) of the answer key in {checked}", file=sys.stderr)
        return 1
    skipped = "" if site.exists() else f" (site {display_path(site, root)} not built, not checked)"
    print(f"check-leaks: no answer key in {checked}{skipped}; {len(answer_key(root))} secret lines checked")
    return 0
