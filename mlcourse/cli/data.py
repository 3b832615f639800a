"""``mlcourse data fetch cifar10 [--root DIR] [--url URL]``."""
from .. import data


def add_parser(sub):
    parser = sub.add_parser("data", help="fetch data sets")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    fetch = actions.add_parser("fetch", help="download, verify and extract a data set")
    fetch.add_argument("dataset", choices=["cifar10"])
    fetch.add_argument("--root", default=str(data.DEFAULT_ROOT), help="folder to hold the data (default %(default)s)")
    fetch.add_argument("--url", default=data.CIFAR10_URL, help="archive address (default: the published one)")
    fetch.add_argument("--md5", default=data.CIFAR10_MD5, help="expected md5 of the archive")
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch.set_defaults(func=run_fetch)


def run_fetch(args):
    folder = data.fetch_cifar10(args.root, url=args.url, md5=args.md5, progress=not args.quiet)
    print(f"CIFAR-10 is ready in {folder}")
