"""Compare Chinese pages of zh_CN/book/ with their English pages of book/, for translators.

    .venv/bin/python tools/check_translation.py [STEM ...]      # default: every Chinese page

Prints each problem (headings out of step, a glossary term missing from its section, a code cell
that differs in more than its words) and exits 1 if there is any.
"""
import sys
from pathlib import Path

from mlcourse.bilingual import compare_pages, read_page
from mlcourse.glossary import load_glossary

ROOT = Path(__file__).resolve().parent.parent


def main(stems):
    stems = stems or sorted(p.stem for p in (ROOT / "zh_CN" / "book").glob("*.md"))
    entries = load_glossary()
    problems = []
    for stem in stems:
        en, zh = ROOT / "book" / f"{stem}.md", ROOT / "zh_CN" / "book" / f"{stem}.md"
        problems += compare_pages(read_page(en), read_page(zh), entries)
    print("\n".join(problems) or f"{len(stems)} page(s) agree")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
