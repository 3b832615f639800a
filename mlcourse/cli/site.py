"""``mlcourse site [--course DIR]``: build the book's two editions into one site, the English at
``_build/html`` and the Chinese (its sources in ``zh_CN/``) at ``_build/html/zh_CN``.

Each edition is its own Jupyter Book build (warnings are errors), executed and cached separately.
The Chinese one is built in ``_build/zh_CN`` and copied into place whole, after the English build,
which would otherwise leave no room for it.
"""
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..course import find_root
from ..errors import CourseError

# (source folder under the course root, where its pages go under _build/html); English first
EDITIONS = ((".", "."), ("zh_CN", "zh_CN"))


def add_parser(sub):
    parser = sub.add_parser("site", help="build the book's English and Chinese editions into _build/html")
    parser.add_argument("--course", metavar="DIR",
                        help="the course folder (default: the nearest folder upward holding nbgrader_config.py)")
    parser.set_defaults(func=lambda args: build_site(find_root(args.course)) and 0)


def build_edition(root, source, log=None):
    """Run jupyter-book on one edition; returns its built html folder. Raises CourseError with the
    end of the build log when the build fails."""
    root = Path(root)
    jupyter_book = str(Path(sys.executable).with_name("jupyter-book"))
    command = [jupyter_book, "build", source, "-W", "-n", "--keep-going"]
    built = root / "_build" / "html" if source == "." else root / "_build" / source / "_build" / "html"
    if source != ".":
        command += ["--path-output", str(root / "_build" / source)]
    stamp, theme = root / "_build" / f".theme-{source.strip('.') or 'en'}", _theme_digest(root, source)
    if not stamp.exists() or stamp.read_text() != theme:
        command.append("--all")  # Sphinx rewrites no page, nor copies a script, for a changed theme file
    result = subprocess.run(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if log is not None:
        log.write(result.stdout)
    if result.returncode != 0:
        raise CourseError(f"the {source} edition's build failed (exit {result.returncode}); the end of its log:\n"
                          f"{result.stdout[-4000:]}")
    stamp.write_text(theme)
    return built


THEME = ("_static", "_ext", "_templates", "ui")  # what every page uses, under the root or the edition's folder


def _theme_digest(root, source):
    """A hash of every file of THEME, under the root and under the edition's folder."""
    digest = hashlib.sha256()
    folders = dict.fromkeys((base / name).resolve() for base in (root, root / source) for name in THEME)
    for folder in filter(Path.is_dir, folders):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root.resolve())).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build_site(root, log=sys.stdout):
    """Build every edition and put each where the site serves it; returns ``root/_build/html``."""
    root = Path(root)
    site = root / "_build" / "html"
    for source, place in EDITIONS:
        built = build_edition(root, source, log)
        if place != ".":
            _replace_tree(built, site / place)
    return site


def _replace_tree(source, target):
    """Copy a folder over another in one rename, so the target is never half-written."""
    fresh = target.with_name(f".{target.name}.new")
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.copytree(source, fresh)
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.rename(target, old)
    os.rename(fresh, target)
    shutil.rmtree(old, ignore_errors=True)
