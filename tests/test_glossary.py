"""book/glossary.yml, the one English–Chinese glossary of both editions: it loads, every form names
one entry, its chapters exist and come in the book's order, each term is written as its chapter
writes it, the key terms carry the standard translation, and a bad file is refused with a message
that names the entry."""
import re
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

from mlcourse.errors import BadInput
from mlcourse.glossary import Term, glossary_table, load_glossary
ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"


@pytest.fixture(scope="module")
def entries():
    return load_glossary()


def toc_chapters():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [c["file"].removeprefix("book/") for part in toc["parts"] for c in part["chapters"]
            if c["file"].startswith("book/")]


def prose(stem):
    """A chapter's text without front matter, code cells and emphasis, on one line."""
    text = (BOOK / f"{stem}.md").read_text()
    text = re.sub(r"(?ms)^```\{code-cell\}.*?^```", " ", text)
    text = re.sub(r"(?s)\A---.*?\n---\n", " ", text).replace("*", "")
    return " ".join(text.split())


def test_committed_glossary_loads(entries):
    assert len(entries) >= 100 and all(isinstance(e, Term) for e in entries)
    assert all(e.en and e.zh and e.chapter for e in entries)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_form_names_one_entry(entries, language):
    owner = {}
    for entry in entries:
        forms = (entry.en,) + entry.aliases_en if language == "en" else (entry.zh,) + entry.aliases_zh
        for form in forms:
            key = ("".join(form.split()) if language == "zh" else " ".join(form.split())).casefold()
            assert key not in owner, f"{form!r} is a form of both {owner[key]!r} and {entry.en!r}"
            owner[key] = entry.en


def test_chapters_exist_and_come_in_book_order(entries):
    order = toc_chapters() + ["appendix_calculus"]
    for entry in entries:
        assert (BOOK / f"{entry.chapter}.md").is_file(), f"{entry.en!r}: no book/{entry.chapter}.md"
    positions = [order.index(entry.chapter) for entry in entries]
    assert positions == sorted(positions), "entries must be grouped by chapter in the book's order"


def test_each_term_is_written_as_its_chapter_writes_it(entries):
    texts = {stem: prose(stem) for stem in {entry.chapter for entry in entries}}
    missing = [f"{entry.en} ({entry.chapter})" for entry in entries
               if not any(re.search(r"(?<![\w-])" + re.escape(form) + r"(?![\w-])", texts[entry.chapter], re.I)
                          for form in (entry.en,) + entry.aliases_en)]
    assert not missing, f"terms their chapter does not write: {missing}"


@pytest.mark.parametrize("en, zh", [
    ("one-hot encoding", "独热编码"), ("cross-entropy", "交叉熵"), ("binary cross-entropy", "二元交叉熵"),
    ("overfitting", "过拟合"), ("underfitting", "欠拟合"), ("receptive field", "感受野"),
    ("dilated convolution", "空洞卷积"), ("transposed convolution", "转置卷积"), ("residual", "残差"),
    ("residual connection", "残差连接"), ("learning rate", "学习率"), ("vanishing gradient", "梯度消失"),
    ("exploding gradient", "梯度爆炸"), ("maximum likelihood", "最大似然"), ("gate", "门单元"),
    ("convolutional network", "卷积神经网络"), ("pooling", "池化"), ("max pooling", "最大池化"),
    ("stride", "步幅"), ("padding", "填充"), ("batch normalization", "批量归一化"),
    ("stochastic gradient descent", "随机梯度下降"), ("momentum", "动量"), ("regularization", "正则化"),
    ("backpropagation", "反向传播"), ("chain rule", "链式法则"), ("partial derivative", "偏导数"),
    ("bias", "偏置"), ("margin", "间隔"), ("hinge loss", "合页损失"), ("activation function", "激活函数"),
    ("fully connected layer", "全连接层"), ("feature map", "特征图"), ("dropout", "随机失活"),
    ("supervised learning", "监督学习"), ("unsupervised learning", "无监督学习"), ("logistic regression", "逻辑回归"),
])
def test_key_terms_have_the_standard_translation(entries, en, zh):
    found = {entry.en.casefold(): entry for entry in entries}
    assert en in found, f"{en!r} is missing from the glossary"
    assert found[en].zh == zh, f"{en!r} is translated {found[en].zh!r}, expected {zh!r}"


def test_notes_where_the_seeds_or_usage_differ(entries):
    found = {entry.en: entry for entry in entries}
    assert "偏置" in found["margin"].note_zh and "+1" in found["margin"].note_zh
    assert "反卷积" in found["transposed convolution"].aliases_zh
    assert "步长" in found["stride"].note_zh and found["step size"].zh == "步长"
    assert "最大似然估计" in found["maximum likelihood"].aliases_zh
    assert "权重衰减" in found["L2 regularization"].aliases_zh


GOOD = {"en": "overfitting", "zh": "过拟合", "chapter": "02_svm_loss"}


@pytest.mark.parametrize("second, message", [
    ({"en": "underfitting", "zh": "过拟合", "chapter": "02_svm_loss"},
     "entry 2 ('underfitting'): duplicate zh '过拟合' is already the zh of entry 1 ('overfitting')"),
    ({"en": "Overfitting", "zh": "欠拟合", "chapter": "02_svm_loss"},
     "entry 2 ('Overfitting'): duplicate en 'Overfitting' is already the en of entry 1 ('overfitting')"),
    ({"en": "underfitting", "chapter": "02_svm_loss"}, "entry 2 ('underfitting'): missing key zh"),
    ({"en": "underfitting", "zh": "欠拟合"}, "entry 2 ('underfitting'): missing key chapter"),
    ({"en": "underfitting", "zh": "欠拟合", "chapter": "07_nowhere"},
     "entry 2 ('underfitting'): unknown chapter '07_nowhere'"),
    ({"en": "underfitting", "zh": "欠拟合", "aliases_en": ["overfitting"], "chapter": "02_svm_loss"},
     "entry 2 ('underfitting'): alias_en 'overfitting' is already the en of entry 1 ('overfitting')"),
    ({"en": "underfitting", "zh": "欠拟合", "alias_zh": ["欠拟"], "chapter": "02_svm_loss"},
     "entry 2 ('underfitting'): unknown key alias_zh"),
    ({"en": "underfitting", "zh": "欠拟合", "aliases_zh": "欠拟", "chapter": "02_svm_loss"},
     "entry 2 ('underfitting'): aliases_zh must be a list"),
])
def test_a_bad_glossary_is_refused_naming_the_entry(tmp_path, second, message):
    (tmp_path / "02_svm_loss.md").write_text("# The multiclass SVM loss\n")
    bad = tmp_path / "glossary.yml"
    bad.write_text(yaml.safe_dump([GOOD, second], allow_unicode=True), encoding="utf-8")
    with pytest.raises(BadInput) as refused:
        load_glossary(bad)
    assert message in str(refused.value)
    assert str(bad) in str(refused.value)


def test_tables_list_every_entry_with_a_chapter_link(entries):
    table_of = MarkdownIt("commonmark").enable("table")
    for language, header in [("en", "| English | 中文 | Chapter |"), ("zh", "| 中文 | English | 章节 | 说明 |")]:
        table = glossary_table(entries, language)
        assert table.splitlines()[0] == header
        assert sum(t.type == "tr_open" for t in table_of.parse(table)) == len(entries) + 1
        assert table.count("{doc}`") == len(entries)
    overfitting = next(line for line in glossary_table(entries).splitlines() if line.startswith("| overfitting |"))
    assert overfitting == "| overfitting | 过拟合 | {doc}`02_svm_loss` |"
    transposed = next(line for line in glossary_table(entries, "zh").splitlines() if "| transposed convolution |" in line)
    assert transposed.startswith("| 转置卷积（反卷积） |") and "不是卷积的逆运算" in transposed
    assert "{doc}`../book/02_svm_loss`" in glossary_table(entries, doc_prefix="../book/")
    with pytest.raises(BadInput, match="language"):
        glossary_table(entries, "fr")


def test_glossary_page_shows_the_table(entries):
    page = (BOOK / "glossary.md").read_text()
    front = (BOOK / "appendix_calculus.md").read_text().split("\n---\n")[0]
    assert page.split("\n---\n")[0] == front
    assert "# Glossary: English–Chinese (中英术语对照)" in page
    cells = re.findall(r"(?ms)^```\{code-cell\} ipython3\n(.*?)^```", page)
    assert len(cells) == 1 and "tags: [remove-input]" in cells[0]
    assert "markdown_format: myst" in cells[0], "the {doc} links need MyST rendering of the output"
    assert 'Markdown(glossary_table(load_glossary(), "en"))' in cells[0]
    chinese = (BOOK.parent / "zh_CN" / "book" / "glossary.md").read_text()
    assert "# 中英术语对照" in chinese and 'Markdown(glossary_table(load_glossary(), "zh"))' in chinese
