"""``mlcourse report ASSIGNMENT``: the class report of a graded assignment, one self-contained
HTML page (see ``mlcourse/grading/class_report.py``)."""
from . import add_course_options


def add_parser(sub):
    parser = sub.add_parser(
        "report", help="write the class report of a graded assignment (one self-contained HTML page)",
        description="Score distribution and statuses, per test cell its pass rate, difficulty, discrimination "
                    "and most common failures, the manual-grading queue, near-copies, run times and trust modes, "
                    "from the gradebook that `mlcourse grade` filled. Opens offline.")
    parser.add_argument("assignment", help="assignment name, e.g. 02_svm")
    add_course_options(parser)
    parser.add_argument("--output", metavar="HTML", help="where to write it (default reports/<assignment>.html)")
    parser.add_argument("--formgrader-url", default="http://localhost:8888", metavar="URL",
                        help="the Jupyter server that runs nbgrader's formgrader, for the manual-grading links "
                             "(default %(default)s)")
    parser.set_defaults(func=run)
    return parser


def run(args):
    from ..grading.class_report import build_report

    path = build_report(args.assignment, course=args.course, db=args.db, output=args.output,
                        formgrader=args.formgrader_url)
    print(f"class report: {path}")
    return 0
