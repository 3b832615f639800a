"""The language the checks speak: English, or Simplified Chinese for the Chinese edition's notebooks.

    set_language("zh_CN")            # a notebook's first code cell says which edition it is
    say("{name}: got None", name="dW")   # a check's message in that language

In a student's kernel the notebook's ``set_language`` call decides; when a notebook is graded, the
judge speaks the submission's language (its metadata ``mlcourse.language``) with ``speaking``.
Each message is written in English in the code; the Chinese of every one is in ``zh_CN.MESSAGES``.
"""
import contextlib
import contextvars

from ..errors import BadInput

LANGUAGES = ("en", "zh_CN")
_chosen = ["en"]  # what the notebook set
_speaking = contextvars.ContextVar("speaking", default=None)  # the judge's choice, while it runs a cell


def check_language(code):
    """``code`` if it is one of LANGUAGES; otherwise a BadInput (a ValueError) that lists them."""
    if code not in LANGUAGES:
        raise BadInput(f"unknown language {code!r}; the course's languages are {', '.join(LANGUAGES)}")
    return code


def edition_folder(root, language):
    """Where an edition lives in a course folder ``root``: ``root`` itself for English, ``root/zh_CN``."""
    return root if check_language(language) == "en" else root / language


def set_language(code):
    """Make the checks speak ``code`` ("en" or "zh_CN") in this kernel; for Chinese, let matplotlib
    draw Chinese labels too (``mlcourse.viz.use_chinese_fonts``)."""
    _chosen[0] = check_language(code)
    if code == "zh_CN":
        from ..viz import use_chinese_fonts

        try:
            use_chinese_fonts()
        except ImportError:  # no matplotlib: nothing to draw
            pass


def current():
    return _speaking.get() or _chosen[0]


@contextlib.contextmanager
def speaking(code):
    """Speak ``code`` inside the block, whatever the notebook set (the judge's and feedback's choice)."""
    token = _speaking.set(check_language(code))
    try:
        yield
    finally:
        _speaking.reset(token)


def say(template, **fields):
    """``template`` (English, with ``{field}`` slots) in the current language, filled in."""
    if current() != "en":
        from .zh_CN import MESSAGES

        template = MESSAGES.get(template, template)
    return template.format(**fields)


def notebook_language(nb):
    """The language an nbformat notebook declares in its metadata (``mlcourse.language``), default "en";
    anything unknown counts as English."""
    code = (nb.metadata.get("mlcourse") or {}).get("language", "en") if hasattr(nb, "metadata") else "en"
    return code if code in LANGUAGES else "en"
