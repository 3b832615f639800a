"""``mlcourse grade ASSIGNMENT``: autograde a whole class (``mlcourse.grading.batch``)."""
from ..grading.batch import grade_class
from ..grading.shard import parse_shard
from . import add_course_options

DEFAULTS = grade_class.__kwdefaults__


def add_parser(sub):
    parser = sub.add_parser(
        "grade", help="autograde every submission of an assignment, sandboxed and in parallel",
        description="Autograde a class with nbgrader's engine: student code runs in a bubblewrap sandbox "
                    "(no network, read-only system, its own scratch folder, CPU/memory/wall-time limits), "
                    "several submissions at once, results in the gradebook and a CSV. Run it in the course "
                    "folder (where nbgrader_config.py is). A submission graded before and unchanged is skipped.")
    parser.add_argument("assignment", help="assignment name, e.g. 02_svm")
    parser.add_argument("--submissions", metavar="PATH",
                        help="nbgrader's submitted/<student>/<assignment>/ layout (default: submitted/), "
                             "or a folder or .zip of notebooks named <student id>.ipynb")
    parser.add_argument("--workers", type=int, default=DEFAULTS["workers"], metavar="N",
                        help="submissions graded at once (default %(default)s)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="wall-clock limit for one notebook's cells (default: Execute.timeout of the course "
                             "config)")
    parser.add_argument("--memory", type=int, metavar="MB", help="memory limit per process, MiB (default 2048)")
    parser.add_argument("--shard", type=parse_shard, metavar="I/N",
                        help="grade only shard I of N (disjoint by student), e.g. for several machines on one --db; "
                             "auto: I and N from a Slurm job array or a Kubernetes Indexed Job (see the README)")
    parser.add_argument("--feedback", action="store_true",
                        help="write feedback/<student>/<assignment>/<notebook>.html (hidden tests: pass/fail only)")
    parser.add_argument("--report", action="store_true",
                        help="also write the class report, reports/<assignment>.html (as `mlcourse report`)")
    parser.add_argument("--output", metavar="CSV",
                        help="grade table (default grades.csv in the course; per cell: *_cells.csv)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run student code WITHOUT isolation (only for trusted notebooks)")
    parser.add_argument("--force", action="store_true",
                        help="regrade submissions that are unchanged since the last run")
    add_course_options(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
    return parser


def run(args):
    report = grade_class(args.assignment, course=args.course, submissions=args.submissions, workers=args.workers,
                         timeout=args.timeout, memory=args.memory, db=args.db, shard=args.shard,
                         feedback=args.feedback, output=args.output, sandbox=not args.no_sandbox,
                         force=args.force, progress=not args.quiet)
    print(report.text)
    if args.report:
        from ..grading.class_report import build_report

        print(f"class report: {build_report(args.assignment, course=args.course, db=args.db)}")
    return 0

