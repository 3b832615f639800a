"""Compare the Chinese instructor notebooks of zh_CN/solutions/ with the English ones of solutions/.

    .venv/bin/python tools/check_notebook_translation.py [ASSIGNMENT ...]   # default: every Chinese one

Prints each problem (cells out of step, code that differs in more than the words it shows, a
glossary term missing from a markdown cell) and exits 1 if there is any.
"""
import sys
from pathlib import Path

import nbformat

from mlcourse.bilingual import compare_notebooks
from mlcourse.glossary import load_glossary

ROOT = Path(__file__).resolve().parent.parent


def main(names):
    names = names or sorted(p.name for p in (ROOT / "zh_CN" / "solutions").glob("*") if p.is_dir())
    entries, problems = load_glossary(), []
    for name in names:
        en = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
        zh_path = ROOT / "zh_CN" / "solutions" / name / f"{name}.ipynb"
        problems += compare_notebooks(en, nbformat.read(zh_path, as_version=4), entries, str(zh_path))
    print("\n".join(problems) or f"{len(names)} notebook(s) agree")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
