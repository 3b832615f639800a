"""The checks speak the notebook's language: every English message template of mlcourse.grading has
a Chinese one with the same slots, set_language switches the kernel's checks, and the judge's
``speaking`` overrides what the notebook set."""
import ast
import string
from pathlib import Path

import numpy as np
import pytest

from mlcourse.grading import assert_close, assert_returns, set_language
from mlcourse.grading.language import speaking
from mlcourse.grading.zh_CN import MESSAGES

GRADING = Path(__file__).resolve().parent.parent / "mlcourse" / "grading"


def templates():
    """The English templates the grading code passes to say(), file by file."""
    found = []
    for path in sorted(GRADING.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "say":
                found.append(ast.literal_eval(node.args[0]))
    return found


def slots(template):
    return sorted((name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template) if name is not None)


def test_every_message_has_chinese_with_the_same_slots():
    english = templates()
    assert len(english) >= 25, "say() is not used: the scan would check nothing"
    missing = [t for t in english if t not in MESSAGES]
    assert not missing, f"messages without Chinese in mlcourse/grading/zh_CN.py: {missing}"
    wrong = [t for t in english if slots(t) != slots(MESSAGES[t])]
    assert not wrong, f"Chinese messages whose slots differ from the English: {wrong}"
    assert not set(MESSAGES) - set(english), f"Chinese of messages no code says: {set(MESSAGES) - set(english)}"


def failure(check, *args):
    with pytest.raises(AssertionError) as err:
        check(*args)
    return str(err.value)


def test_set_language_switches_the_messages_and_speaking_overrides_it():
    args = ("dW", np.array([1.0, 2.0]), np.array([1.0, 3.0]))
    try:
        set_language("zh_CN")
        chinese = failure(assert_close, *args)
        with speaking("en"):
            english = failure(assert_close, *args)
    finally:
        set_language("en")
    assert "个元素中有 1 个不符" in chinese and "应为" in chinese and "dW" in chinese, chinese
    assert english == failure(assert_close, *args) and "1 of 2 entries differ" in english, english
    with speaking("zh_CN"):
        assert "一起返回" in failure(assert_returns, "f", np.zeros(2), "loss", "dW")


def test_an_unknown_language_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="en, zh_CN"):
        set_language("fr")
