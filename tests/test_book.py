"""The book's two editions build warning-free (-W) with every chapter executed, show figures, and
an unchanged chapter is served from the execution cache instead of being run again."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.built_site import ROOT, SITE_TESTS, site_dir  # noqa: F401 (fixture)

pytestmark = [pytest.mark.slow, SITE_TESTS]


ENDINGS = {"": ("Exercises", "Summary"), "zh_CN/": ("练习", "小结")}  # each edition's last two sections


def chapters():
    """The chapter pages of both editions: "book/..." and "zh_CN/book/..."."""
    out = []
    for edition in ENDINGS:
        toc = yaml.safe_load((ROOT / edition / "_toc.yml").read_text())
        out += [edition + entry["file"] for part in toc["parts"] for entry in part["chapters"]
                if entry["file"].startswith("book/") and entry["file"] != "book/glossary"]
    return out


@pytest.mark.parametrize("chapter", chapters())
def test_chapter_page_is_executed_with_figures(site_dir, chapter):
    html = (site_dir / f"{chapter}.html").read_text()
    exercises, summary = ENDINGS["zh_CN/" if chapter.startswith("zh_CN/") else ""]
    figures = re.findall(r'<img [^>]*src="[^"]*\.png"', html)
    needed = 2 if "appendix" in chapter else 8  # a figure for each key idea of a chapter
    assert len(figures) >= needed, f"{chapter} shows {len(figures)} figures; it needs at least {needed}"
    assert "Traceback" not in html and "output error" not in html, f"{chapter} shows a cell error"
    assert "output stderr" not in html, f"{chapter} printed to stderr (a warning?)"
    assert re.search(rf"<h2>.*{exercises}", html) and re.search(rf"<h2>.*{summary}", html), \
        f"{chapter} must end with {exercises} and {summary} sections"


def test_unchanged_chapter_is_served_from_the_cache(site_dir):
    chapter = ROOT / "book" / "02_svm_loss.md"
    os.utime(chapter)  # Sphinx re-reads the page; its code is unchanged, so the cache must answer
    build = subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build", ".", "-W", "-n"],
                           cwd=ROOT, capture_output=True, text=True)
    os.utime(site_dir / "index.html")
    log = build.stdout + build.stderr
    assert build.returncode == 0, log[-3000:]
    assert "02_svm_loss" in log and re.search(r"Using cached notebook", log), log[-3000:]
    assert "Executing notebook" not in log, "an unchanged chapter was executed again"
