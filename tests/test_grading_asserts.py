"""The checks that exercise test cells call: they pass silently (returning nothing, since
nbgrader would read a returned number as partial credit) and fail with messages that say what
was expected, what came back and where."""
import numpy as np
import pytest

from mlcourse import scratch
from mlcourse.grading import (
    IntegrityError,
    assert_close,
    assert_equal,
    assert_no_loops,
    assert_own_implementation,
    assert_returns,
    assert_shape,
    check_gradient,
)


def test_passing_checks_return_none():
    x = np.arange(4.0)
    assert assert_close("x", x, x) is None
    assert assert_shape("x", x, (4,)) is None
    assert assert_equal("n", 3, 3) is None
    assert check_gradient("sum of squares", lambda v: float(np.sum(v ** 2)), x.copy(), 2 * x) is None


def test_assert_close_names_the_worst_entry():
    expected = np.zeros((2, 3))
    actual = expected.copy()
    actual[1, 2] = 0.5
    with pytest.raises(AssertionError, match=r"(?s)dW: 1 of 6 entries differ.*worst at index \(1, 2\): expected 0, got 0.5"):
        assert_close("dW", actual, expected)


def test_assert_close_explains_shape_none_and_scalar_mistakes():
    with pytest.raises(AssertionError, match=r"expected shape \(3, 2\), got shape \(2, 3\)"):
        assert_close("dW", np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(AssertionError, match="forget a return"):
        assert_close("loss", None, 1.0)
    with pytest.raises(AssertionError, match=r"expected 5.2666667, got 2.9"):
        assert_close("loss", 2.9, 5.266666666666667)
    with pytest.raises(AssertionError, match="nan or inf"):
        assert_close("p", np.array([np.nan]), np.array([0.5]))


def test_large_arrays_are_shown_by_their_differing_entries():
    expected = np.zeros((2, 4, 4, 4))
    actual = expected.copy()
    actual[0, 1, 2, 3], actual[1, 3, 3, 3] = 2.0, -1.0
    with pytest.raises(AssertionError) as failure:
        assert_close("out", actual, expected)
    message = str(failure.value)
    assert "at (0, 1, 2, 3): expected 0, got 2" in message and "at (1, 3, 3, 3): expected 0, got -1" in message
    assert len(message.splitlines()) == 4


def test_assert_returns_names_what_the_function_must_return():
    out, cache = assert_returns("conv_forward_naive", (np.ones(2), "c"), "out", "cache")
    assert cache == "c"
    with pytest.raises(AssertionError, match=r"^conv_forward_naive must return \(out, cache\), got one array"):
        assert_returns("conv_forward_naive", np.ones((2, 3)), "out", "cache")
    with pytest.raises(AssertionError, match="got None. Did you forget a return statement"):
        assert_returns("add_forward", None, "out", "cache")
    with pytest.raises(AssertionError, match=r"add_forward must return \(out, cache\), got one float"):
        assert_returns("add_forward", 3.0, "out", "cache")
    with pytest.raises(AssertionError, match=r"2 values, got 3"):
        assert_returns("affine_forward", (1, 2, 3), "out", "cache")


def test_check_gradient_catches_a_wrong_gradient():
    x = np.linspace(-1, 1, 5)
    with pytest.raises(AssertionError, match="analytic vs numerical gradient"):
        check_gradient("dx", lambda v: float(np.sum(v ** 3)), x, 2 * x ** 2)


def own_loss(W, X, y, reg):
    return float(np.sum(X @ W)), np.zeros_like(W)


def wrapped_loss(W, X, y, reg):
    return scratch.svm_loss_vectorized(W, X, y, reg)


def importing_loss(W, X, y, reg):
    from mlcourse.scratch import svm_loss_naive
    return svm_loss_naive(W, X, y, reg)


def test_integrity_accepts_own_code_and_rejects_the_reference():
    assert_own_implementation("own_loss", own_loss, scratch.svm_loss_vectorized)
    for cheat in (scratch.svm_loss_vectorized, wrapped_loss, importing_loss):
        with pytest.raises(IntegrityError, match="scores 0"):
            assert_own_implementation("svm_loss", cheat, scratch.svm_loss_vectorized)


def looped(x):
    total = 0
    for v in x:
        total += v
    return total


def test_assert_no_loops_points_at_the_loop():
    assert_no_loops("own_loss", own_loss)
    line = looped.__code__.co_firstlineno + 2  # the loop is the third line of the def, counted in its file
    with pytest.raises(AssertionError, match=f"line {line} of its cell has a For"):
        assert_no_loops("looped", looped)


class OwnBlock:
    def forward(self, x):
        return x * 2


class WrappingBlock:
    def forward(self, x):
        return scratch.relu_forward(x)[0]


class InheritingBlock(scratch.LinearSVM):
    pass


def test_integrity_checks_classes_through_bases_and_methods():
    assert_own_implementation("OwnBlock", OwnBlock)
    with pytest.raises(IntegrityError, match="WrappingBlock.forward uses scratch"):
        assert_own_implementation("WrappingBlock", WrappingBlock)
    with pytest.raises(IntegrityError, match="built on mlcourse.scratch.linear.LinearSVM"):
        assert_own_implementation("InheritingBlock", InheritingBlock)


def test_assert_equal_shows_numpy_values_as_plain_python():
    with pytest.raises(AssertionError, match=r"first at index \(1,\): expected 'b1', got 'b2'$"):
        assert_equal("keys of grads", np.array(["W1", "b2"]), ["W1", "b1"])
    with pytest.raises(AssertionError, match=r"^count: expected 4, got 3$"):
        assert_equal("count", np.int64(3), 4)


def test_conceptual_answers_are_checked_for_form_visibly_and_for_value_without_giving_it_away():
    from mlcourse.grading import assert_answer, check_answer_form

    for value, form in [(3, "integer"), (np.int64(3), "integer"), (2.5, "number"), ("b", ("a", "b"))]:
        assert check_answer_form("q", value, form) is None
    for value, form, words in [(3.0, "integer", "whole number"), (True, "number", "finite number"),
                               (float("nan"), "number", "finite number"), ("e", ("a", "b"), "one of 'a', 'b'")]:
        with pytest.raises(AssertionError, match=words):
            check_answer_form("q", value, form)
    assert assert_answer("q", np.float64(0.96), 0.96, rel_tol=1e-6) is None and assert_answer("q", "b", "b") is None

    class AlwaysEqual(str):
        def __eq__(self, other):
            return True
        __hash__ = str.__hash__

    class Near(float):
        def __sub__(self, other):
            return 0.0
    for wrong, expected in [("a", "b"), (AlwaysEqual("a"), "b"), (7, 128), (Near(7.0), 128), (True, 1), ("128", 128)]:
        with pytest.raises(AssertionError, match="is not the right answer") as caught:
            assert_answer("q", wrong, expected)
        assert repr(expected) not in str(caught.value).replace(repr(wrong), "")


def test_assert_not_using_names_the_forbidden_call_and_refuses_code_without_source():
    from mlcourse.grading import assert_not_using

    def allowed(x):
        return x.unfold(2, 3, 1) @ x

    def forbidden(x, w):
        import torch.nn.functional as F
        return F.conv2d(x, w)
    assert assert_not_using("conv", allowed, ["conv2d", "backward"]) is None
    with pytest.raises(IntegrityError, match="uses conv2d, which this exercise does not allow"):
        assert_not_using("conv", forbidden, ["conv2d", "backward"])
    namespace = {}
    exec(compile("def hidden(x):\n    return x.conv2d()\n", "<built>", "exec"), namespace)
    with pytest.raises(IntegrityError, match="source cannot be read"):
        assert_not_using("conv", namespace["hidden"], ["conv2d"])
