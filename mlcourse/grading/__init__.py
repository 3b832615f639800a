"""Grading: the checks exercise test cells call, and autograding of whole classes."""
from .asserts import (
    IntegrityError,
    assert_close,
    assert_equal,
    assert_no_loops,
    assert_own_implementation,
    assert_shape,
    check_gradient,
    check_gradient_array,
)
