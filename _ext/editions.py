"""The English and Chinese editions as one site: the English build at _build/html, the Chinese at
_build/html/zh_CN, each page linking to its counterpart at the same section.

Both editions have the same headings in the same order (tests/test_bilingual.py), so the n-th
section of a page is the n-th of its counterpart: each section gets the extra id ``es-<n>``, and
the switch button in each page's header goes to the counterpart page, and _static/editions.js
points it at the section the reader is looking at. The Chinese
search segments words with jieba, with the glossary's terms added to its dictionary so that a term
such as 交叉熵 is one search word, and the interface strings the themes leave in English come from
zh_CN/ui/*.po.

Config (in _config.yml, sphinx.config):
    edition_other_root   the other edition's source root, relative to this one ("zh_CN" or "..")
    edition_other_url    the other edition's site root, relative to this site's root ("zh_CN/" or "../")
    edition_other_name   the switch link's text, in the other language ("中文" or "English")
    edition_other_lang   the other language's HTML lang code ("zh-CN" or "en")
"""
from pathlib import Path

from docutils import nodes

SOURCE_SUFFIXES = (".md", ".ipynb")


def number_sections(app, doctree):
    """Give the n-th section of the page the extra id es-<n>, in document order from 1."""
    for number, section in enumerate(doctree.findall(nodes.section), start=1):
        section["ids"].append(f"es-{number}")


def add_switch(app, pagename, templatename, context, doctree):
    """A header button to the counterpart page; editions.js adds the current section to its URL."""
    config = app.config
    other = Path(app.srcdir, config.edition_other_root)
    if doctree is None or not any((other / f"{pagename}{suffix}").is_file() for suffix in SOURCE_SUFFIXES):
        return
    url = "../" * pagename.count("/") + config.edition_other_url + pagename + ".html"
    context.setdefault("header_buttons", []).insert(0, {
        "type": "link", "url": url, "text": config.edition_other_name, "tooltip": config.edition_other_name,
        "classes": f"edition-switch edition-{config.edition_other_lang}"})


def chinese_edition(app, config):
    """The Chinese build's search words and interface strings."""
    if (config.language or "").startswith("zh"):
        glossary_search_words(app, config)
        interface_strings(app, config)


# words two theme templates write as they are, without a translation catalog
UNTRANSLATED = {'title="Toggle primary sidebar"': 'title="显示或隐藏目录"', 'aria-label="Main"': 'aria-label="目录"'}


def translate_templates(app):
    """Wrap the HTML builder's template rendering so the Chinese pages carry UNTRANSLATED's Chinese."""
    if not (app.config.language or "").startswith("zh") or not hasattr(app.builder, "templates"):
        return
    render = app.builder.templates.render

    def rendered(template, context):
        html = render(template, context)
        for english, chinese in UNTRANSLATED.items():
            html = html.replace(english, chinese)
        return html
    app.builder.templates.render = rendered


def glossary_search_words(app, config):
    """Chinese search: load the glossary's Chinese terms into jieba's dictionary (a file in the doctree dir)."""
    from mlcourse.glossary import load_glossary

    words = [word for term in load_glossary(Path(app.srcdir, config.edition_glossary))
             for word in (term.zh, *term.aliases_zh)]
    path = Path(app.doctreedir, "search-words.txt")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{word.replace(' ', '')} 1000 n\n" for word in words), encoding="utf-8")
    config.html_search_options = {**(config.html_search_options or {}), "dict": str(path)}


def interface_strings(app, config):
    """Compile the .po files of edition_interface (one per catalog: sphinx, booktheme) into the doctree
    dir and add each behind the catalogs of Sphinx and the themes, for the strings theirs lack."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    folder = Path(app.doctreedir, "locale")
    for po in sorted(Path(app.srcdir, config.edition_interface).glob("*.po")):
        mo = folder / config.language / "LC_MESSAGES" / f"{po.stem}.mo"
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as source, mo.open("wb") as target:
            write_mo(target, read_po(source))
        app.add_message_catalog(po.stem, str(folder))


def setup(app):
    app.add_config_value("edition_other_root", "", "html")
    app.add_config_value("edition_other_url", "", "html")
    app.add_config_value("edition_other_name", "", "html")
    app.add_config_value("edition_other_lang", "", "html")
    app.add_config_value("edition_glossary", "book/glossary.yml", "html")
    app.add_config_value("edition_interface", "ui", "html")
    app.connect("config-inited", chinese_edition)
    app.connect("builder-inited", translate_templates)
    app.connect("doctree-read", number_sections)
    app.connect("html-page-context", add_switch, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
