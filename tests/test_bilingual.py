"""The Chinese edition keeps step with the English: every page of the English book has a Chinese
page in the same place of the table of contents, with the same headings, each section writing the
glossary's translation of every term its English section uses, and code cells that differ only in
their words (string literals, comments and alt text masked). A swapped glossary or an edited code
cell is caught."""
import dataclasses
from pathlib import Path

import nbformat
import pytest
import yaml

from mlcourse.bilingual import compare_notebooks, compare_pages, masked_code, read_page
from mlcourse.glossary import load_glossary

ROOT = Path(__file__).resolve().parent.parent


def toc_files(toc_path):
    toc = yaml.safe_load(toc_path.read_text())
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


ENGLISH_PAGES = [f for f in toc_files(ROOT / "_toc.yml") if f.startswith("book/")]
ASSIGNMENTS = sorted(p.parent.name for p in (ROOT / "solutions").glob("*/*.ipynb"))


@pytest.fixture(scope="module")
def entries():
    return load_glossary()


def pair(stem):
    return read_page(ROOT / "book" / f"{stem}.md"), read_page(ROOT / "zh_CN" / "book" / f"{stem}.md")


def test_the_chinese_toc_lists_every_english_page_in_the_same_order():
    assert toc_files(ROOT / "zh_CN" / "_toc.yml") == toc_files(ROOT / "_toc.yml")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_chinese_notebook_agrees_with_the_english(assignment, entries):
    en = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    zh = nbformat.read(ROOT / "zh_CN" / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    problems = compare_notebooks(en, zh, entries)
    assert not problems, "\n".join(problems)


def test_a_chinese_test_cell_that_changes_a_key_is_caught(entries):
    en = nbformat.read(ROOT / "solutions" / "04_backprop" / "04_backprop.ipynb", as_version=4)
    zh = nbformat.read(ROOT / "zh_CN" / "solutions" / "04_backprop" / "04_backprop.ipynb", as_version=4)
    cell = next(c for c in zh.cells if c.metadata.get("nbgrader", {}).get("grade") and '"W1"' in c.source)
    cell.source = cell.source.replace('"W1"', '"权重1"')
    assert any("more than the words it shows" in p for p in compare_notebooks(en, zh, entries))


@pytest.mark.parametrize("stem", [Path(f).name for f in ENGLISH_PAGES])
def test_chinese_page_agrees_with_the_english(stem, entries):
    problems = compare_pages(*pair(stem), entries)
    assert not problems, "\n".join(problems)


def test_a_glossary_with_swapped_terms_fails_even_where_both_share_a_chapter(entries):
    """d2l-zh once swapped 过拟合 and 欠拟合; both terms are in ch02, yet its sections tell them apart."""
    swapped = {"overfitting": "欠拟合", "underfitting": "过拟合"}
    wrong = [dataclasses.replace(e, zh=swapped.get(e.en, e.zh)) for e in entries]
    en, zh = pair("02_svm_loss")
    assert not compare_pages(en, zh, entries)
    problems = compare_pages(en, zh, wrong)
    assert any("overfitting → 欠拟合" in p for p in problems), problems


def test_a_code_change_beyond_the_words_is_caught(entries, tmp_path):
    en, zh = pair("03_softmax")
    edited = dataclasses.replace(zh, code_cells=list(zh.code_cells))
    options, code = edited.code_cells[-1]
    edited.code_cells[-1] = (options, code.replace("(", "(0 + ", 1))
    problems = compare_pages(en, edited, entries)
    assert any("code cell" in p and "more than its strings" in p for p in problems), problems


def test_masked_code_ignores_words_and_keeps_everything_else():
    english = 'ax.set_title(f"loss {x:.2f}")  # the loss\nprint("done", 3)\n'
    chinese = 'ax.set_title(f"损失 {x:.2f}")  # 损失\nprint("完成", 3)\n'
    assert masked_code(english) == masked_code(chinese)
    assert masked_code(english) != masked_code(english.replace("3)", "4)"))
    assert masked_code(english) != masked_code(english.replace("set_title", "set_xlabel"))


def test_headings_out_of_step_are_reported(entries, tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# Title\n\n## One\n\ntext\n")
    other = tmp_path / "q.md"
    other.write_text("# 标题\n\n### 一\n\n文字\n")
    problems = compare_pages(read_page(page), read_page(other), entries)
    assert len(problems) == 1 and "headings differ" in problems[0], problems
