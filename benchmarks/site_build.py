"""Build time of the whole site: a cold build next to an unchanged rebuild, in one run.

    .venv/bin/python benchmarks/site_build.py [--allow-errors] [--results benchmarks/RESULTS.md]

The course is copied into a temporary folder (no _build/, no caches), so the cold build starts
with an empty execution cache and the real _build/ is left alone. Then the Makefile's command,
``jupyter-book build . -W -n --keep-going``, runs three times there:

1. cold: every chapter is executed;
2. unchanged rebuild: the same command again (Sphinx finds nothing outdated, notebooks cached);
3. every page rewritten (``--all``) with the notebooks still taken from the execution cache.

``--allow-errors`` lets chapters whose code fails still count (for timing while chapters are
being written); ``--results`` rewrites the "## Site build (issue 8)" section of that file.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Site build (issue 8)"
TARGET_S = 30.0
LEFT_OUT = shutil.ignore_patterns("_build", ".venv", ".git", ".pytest_cache", ".hypothesis", "__pycache__",
                                  ".ipynb_checkpoints", "*.egg-info", "submitted", "autograded", "feedback",
                                  "gradebook.db")
EXECUTED_RE = re.compile(r"(\S+\.(?:md|ipynb)): Executed notebook in ([\d.]+) seconds")


def build(folder, *extra):
    """(seconds, exit status, log) of one build of the site in ``folder``."""
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", ".", "-W", "-n", "--keep-going", *extra]
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    start = time.perf_counter()
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, env=env)
    return time.perf_counter() - start, result.returncode, result.stdout + result.stderr


def allow_errors(config):
    text = config.read_text()
    text = text.replace("allow_errors: false", "allow_errors: true")
    config.write_text(text.replace("nb_execution_raise_on_error: true", "nb_execution_raise_on_error: false"))


def measure(allow=False):
    with tempfile.TemporaryDirectory(prefix="mlcourse-site-") as tmp:
        folder = Path(tmp) / "course"
        shutil.copytree(ROOT, folder, ignore=LEFT_OUT)
        if allow:
            allow_errors(folder / "_config.yml")
        runs = {}
        for name, extra in [("cold build (fresh _build/, empty execution cache)", ()),
                            ("unchanged rebuild (execution cache hit)", ()),
                            ("every page rewritten, notebooks from the cache (--all)", ("--all",))]:
            seconds, status, log = build(folder, *extra)
            runs[name] = (seconds, status)
            if name.startswith("cold"):
                executed = [(Path(p).relative_to(folder).as_posix() if Path(p).is_absolute() else p, float(s))
                            for p, s in EXECUTED_RE.findall(log)]
                pages = len([p for p in (folder / "_build" / "html").rglob("*.html")
                             if not p.relative_to(folder / "_build" / "html").parts[0].startswith("_")])
            if status != 0:
                print(f"{name}: jupyter-book exited with {status}; end of its log:\n{log[-3000:]}", file=sys.stderr)
    return runs, executed, pages


def report(runs, executed, pages, allow):
    cold = next(iter(runs.values()))[0]
    rebuild = list(runs.values())[1][0]
    lines = [SECTION, "",
             f"`benchmarks/site_build.py` on this machine ({os.cpu_count()} cores, load average "
             f"{os.getloadavg()[0]:.1f} at the end), {pages} pages, "
             f"{len(executed)} chapters executed{' (code errors allowed)' if allow else ''}; one run, side by side:", "",
             "| build | seconds | vs cold | exit |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {name} | {s:.1f} | {s / cold:.2f} | {status} |" for name, (s, status) in runs.items()]
    lines += ["", f"Target, unchanged rebuild under {TARGET_S:.0f} s: {'met' if rebuild < TARGET_S else 'MISSED'} "
                  f"({rebuild:.1f} s).", "", "Chapter execution in the cold build (seconds): " +
              ", ".join(f"{p} {s:.1f}" for p, s in sorted(executed, key=lambda e: -e[1])) + "."]
    return "\n".join(lines) + "\n"


def write_section(path, section):
    """Replace (or append) this benchmark's section of a markdown file, leaving the rest as it is."""
    path = Path(path)
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    start = text.find(SECTION)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        following = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + ("\n" + text[following + 1:] if following >= 0 else "")
    path.write_text(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--allow-errors", action="store_true", help="count chapters whose code fails")
    parser.add_argument("--results", help="markdown file whose site-build section to rewrite")
    args = parser.parse_args(argv)
    runs, executed, pages = measure(args.allow_errors)
    section = report(runs, executed, pages, args.allow_errors)
    print(section)
    if args.results:
        write_section(args.results, section)
    return 0 if all(status == 0 for _, status in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
