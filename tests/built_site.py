"""The built Jupyter Book site for tests: built once, only when missing or stale.

(Not named ``site.py``: Python's own ``site`` module is imported at start-up and would be found
instead.) Import the fixture into a test module with ``from built_site import site_dir``.
"""
import fcntl
import io
import os
import time
from pathlib import Path

import pytest

from mlcourse.cli import site
from mlcourse.errors import CourseError

# the course whose site is built and tested: this checkout, or the folder MLCOURSE_SITE_ROOT names
ROOT = Path(os.environ.get("MLCOURSE_SITE_ROOT") or Path(__file__).resolve().parent.parent)
SOURCES = ("book", "exercises", "_config.yml", "_toc.yml", "zh_CN", "_ext", "_static")
# tests that build, rebuild or read the site run one after another in one pytest-xdist worker
SITE_TESTS = pytest.mark.xdist_group("site")


def html_dir(root=ROOT):
    return Path(root) / "_build" / "html"


def newest_source(root=ROOT):
    """Latest modification time of any file of the book's sources, 0 when there is none."""
    times = [0.0]
    for name in SOURCES:
        path = Path(root) / name
        files = [path] if path.is_file() else path.rglob("*") if path.is_dir() else []
        times += [f.stat().st_mtime for f in files if f.is_file()]
    return max(times)


def is_stale(root=ROOT):
    """True when either edition is missing, older than a source, or the last build here failed."""
    indexes = [html_dir(root) / "index.html", html_dir(root) / "zh_CN" / "index.html"]
    failed = Path(root) / "_build" / ".site-build-failed"
    return (failed.exists() or not all(i.exists() for i in indexes)
            or min(i.stat().st_mtime for i in indexes) < newest_source(root))


def build_site(root=ROOT):
    """Build both editions into ``root/_build/html`` as ``mlcourse site`` does, unless they are up to
    date; a file lock makes concurrent test processes wait for one build. Returns the folder.
    Raises RuntimeError with the end of the build log when the build fails."""
    root = Path(root)
    (root / "_build").mkdir(exist_ok=True)
    failed = root / "_build" / ".site-build-failed"
    with open(root / "_build" / ".site-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_stale(root):
            start = time.time()
            try:
                site.build_site(root, log=io.StringIO())
            except CourseError as err:
                failed.touch()
                raise RuntimeError(str(err)) from err
            failed.unlink(missing_ok=True)
            # the root index.html only redirects and is not rewritten by an incremental build
            for index in (html_dir(root) / "index.html", html_dir(root) / "zh_CN" / "index.html"):
                os.utime(index, (start, start))
    return html_dir(root)


@pytest.fixture(scope="session")
def site_dir():
    """The built site folder ``_build/html``, built first if needed."""
    try:
        return build_site()
    except RuntimeError as err:
        pytest.fail(str(err), pytrace=False)
