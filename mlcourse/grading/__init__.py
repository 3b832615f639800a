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

# Whole-class autograding pulls in nbgrader, jupyter and SQLAlchemy; loaded on first use only, so
# that a test cell importing the checks above stays fast.
_LAZY = {"autograde": "grader", "GradeResult": "outcome", "CellOutcome": "outcome",
         "grade_class": "batch", "Limits": "sandbox", "SandboxUnavailable": "sandbox"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
