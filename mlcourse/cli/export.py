"""``mlcourse export ASSIGNMENT --format canvas|moodle|csv``: grades as a file the LMS imports
(see ``mlcourse/grading/export.py``)."""
from ..grading.export import FORMATS
from . import add_course_options


def add_parser(sub):
    parser = sub.add_parser(
        "export", help="write an assignment's grades as a Canvas or Moodle gradebook import (or plain CSV)",
        description="Write the grades `mlcourse grade` recorded (late penalties included) as a file to import into "
                    "the LMS gradebook. Students are matched to the roster the LMS exports; nothing is written "
                    "while a graded student is not on it, unless --skip-unmatched.")
    parser.add_argument("assignment", help="assignment name, e.g. 02_svm")
    parser.add_argument("--format", required=True, choices=FORMATS, dest="fmt", help="the LMS's import format")
    parser.add_argument("--roster", metavar="CSV",
                        help="the roster the LMS exports (required for canvas and moodle): Canvas's gradebook "
                             "export, Moodle's grade export or participants list")
    parser.add_argument("--output", metavar="FILE", help="file to write (default <course>/<assignment>_<format>.csv)")
    parser.add_argument("--percent", action="store_true",
                        help="scores out of 100 instead of points (for an LMS column worth 100)")
    parser.add_argument("--match-column", metavar="NAME",
                        help="roster column holding nbgrader's student ids (default: canvas 'SIS Login ID', "
                             "moodle 'ID number', else 'Email address')")
    parser.add_argument("--column", metavar="NAME",
                        help="the LMS's grade column to fill (default: the roster's column for ASSIGNMENT, "
                             "else ASSIGNMENT, which Canvas creates as a new assignment)")
    parser.add_argument("--skip-unmatched", action="store_true",
                        help="write the file without graded students missing from the roster (they are listed)")
    add_course_options(parser)
    parser.set_defaults(func=run)
    return parser


def run(args):
    from ..grading.export import export_grades

    result = export_grades(args.assignment, args.fmt, roster=args.roster, output=args.output, course=args.course,
                           db=args.db, percent=args.percent, match_column=args.match_column,
                           skip_unmatched=args.skip_unmatched, column=args.column)
    print(result.text)
    return 0
