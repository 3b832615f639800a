"""The course glossary, English–Chinese (中英术语对照): one file, book/glossary.yml, for both editions.

    entries = load_glossary()               # list of Term, in the file's order (first use by chapter)
    print(glossary_table(entries))          # Markdown table: English | 中文 | chapter
    print(glossary_table(entries, "zh"))    # 中文 | English | 章节 | 说明

A term's English forms (`en` and `aliases_en`) and its Chinese forms (`zh` and `aliases_zh`) each name
exactly one entry, so a text's terms can be mapped to one translation. `zh` is the preferred form the
Chinese edition writes; the aliases are forms a reader meets elsewhere.
"""
from dataclasses import dataclass
from pathlib import Path

import yaml

from mlcourse.course import find_root
from mlcourse.errors import BadInput, MissingPath

GLOSSARY = Path("book") / "glossary.yml"  # under the course root
REQUIRED = ("en", "zh", "chapter")
OPTIONAL = ("aliases_en", "aliases_zh", "note_zh")


@dataclass(frozen=True)
class Term:
    """One glossary entry; `chapter` is the stem of the book page where the term is first taught."""
    en: str
    zh: str
    chapter: str
    aliases_en: tuple[str, ...] = ()
    aliases_zh: tuple[str, ...] = ()
    note_zh: str = ""


def _key(text, language):
    """What two forms must differ in: case and spacing never count (Chinese ignores spaces entirely)."""
    return "".join(text.split()).casefold() if language == "zh" else " ".join(text.split()).casefold()


def load_glossary(path=None):
    """Read and check the glossary (default: book/glossary.yml of the course found by find_root); returns a list of Term in file order.

    Raises BadInput, naming the entry (number and term), for: a missing or unknown key, a value of the
    wrong type, a chapter with no <chapter>.md next to the file, and any English or Chinese form (term
    or alias) that is already the term or an alias of another entry, or repeated within one entry.
    """
    path = Path(path) if path is not None else find_root() / GLOSSARY
    if not path.is_file():
        raise MissingPath(f"glossary {path} not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise BadInput(f"{path} is not valid YAML: {err}") from err
    if not isinstance(raw, list) or not raw:
        raise BadInput(f"{path} must be a non-empty list of entries (- en: ..., zh: ..., chapter: ...)")
    chapters = {p.stem for p in path.parent.glob("*.md")}
    seen = {"en": {}, "zh": {}}  # form key -> (entry label, what it is there)
    entries = []
    for number, item in enumerate(raw, start=1):
        label = f"entry {number}"
        if isinstance(item, dict) and isinstance(item.get("en"), str):
            label += f" ({item['en']!r})"
        where = f"{path}, {label}"
        if not isinstance(item, dict):
            raise BadInput(f"{where}: expected a mapping with keys en, zh, chapter, got {item!r}")
        missing = [key for key in REQUIRED if key not in item]
        if missing:
            raise BadInput(f"{where}: missing key {', '.join(missing)}")
        unknown = sorted(set(item) - set(REQUIRED) - set(OPTIONAL))
        if unknown:
            raise BadInput(f"{where}: unknown key {', '.join(unknown)} (allowed: {', '.join(REQUIRED + OPTIONAL)})")
        for key in ("en", "zh", "chapter", "note_zh"):
            if key in item and (not isinstance(item[key], str) or not item[key].strip()):
                raise BadInput(f"{where}: {key} must be a non-empty string, got {item[key]!r}")
        for key in ("aliases_en", "aliases_zh"):
            value = item.get(key, [])
            if not isinstance(value, list) or not all(isinstance(a, str) and a.strip() for a in value):
                raise BadInput(f"{where}: {key} must be a list of non-empty strings, got {value!r}")
        if item["chapter"] not in chapters:
            raise BadInput(f"{where}: unknown chapter {item['chapter']!r}: no {item['chapter']}.md in {path.parent}")
        term = Term(en=item["en"].strip(), zh=item["zh"].strip(), chapter=item["chapter"],
                    aliases_en=tuple(a.strip() for a in item.get("aliases_en", [])),
                    aliases_zh=tuple(a.strip() for a in item.get("aliases_zh", [])),
                    note_zh=item.get("note_zh", "").strip())
        for language, main, aliases in (("en", term.en, term.aliases_en), ("zh", term.zh, term.aliases_zh)):
            for role, form in [(language, main)] + [(f"alias_{language}", a) for a in aliases]:
                key = _key(form, language)
                if key in seen[language]:
                    other, other_role = seen[language][key]
                    what = f"duplicate {role}" if role == language else role
                    raise BadInput(f"{where}: {what} {form!r} is already the {other_role} of {other}")
                seen[language][key] = (label, role)
        entries.append(term)
    return entries


def _cell(text):
    return text.replace("|", "\\|")


def glossary_table(entries, language="en", doc_prefix=""):
    """A Markdown (MyST) table of the entries, in their order, one row per term.

    language "en": columns English | 中文 | Chapter; "zh": 中文 | English | 章节 | 说明 (note_zh).
    Chinese aliases follow the preferred term in parentheses. The chapter cell is {doc}`<doc_prefix><stem>`,
    so a page outside book/ passes the relative prefix (e.g. "../book/"). Returns the table as one string.
    """
    if language not in ("en", "zh"):
        raise BadInput(f"glossary_table: language must be 'en' or 'zh', got {language!r}")
    rows = []
    for term in entries:
        zh = term.zh + (f"（{'、'.join(term.aliases_zh)}）" if term.aliases_zh else "")
        link = f"{{doc}}`{doc_prefix}{term.chapter}`"
        cells = [term.en, zh, link] if language == "en" else [zh, term.en, link, term.note_zh]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    header = ["English", "中文", "Chapter"] if language == "en" else ["中文", "English", "章节", "说明"]
    head = "| " + " | ".join(header) + " |\n|" + " --- |" * len(header)
    return "\n".join([head] + rows) + "\n"
