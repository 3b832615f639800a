"""Grading: the checks exercise test cells call, and autograding of whole classes."""
import contextvars

from .asserts import (
    IntegrityError,
    assert_answer,
    assert_close,
    assert_equal,
    assert_no_loops,
    assert_not_using,
    assert_own_implementation,
    assert_returns,
    assert_shape,
    check_answer_form,
    check_gradient,
    check_gradient_array,
)
from .language import set_language


def in_kernel(func):
    """Mark a function of a test cell that it hands to the student's code (a stand-in loss, say).
    In the notebook it stays the function itself; when graded, the judge defines a copy of it in
    the student's kernel and passes that, since nothing of the judge's enters the kernel."""
    func.__mlcourse_in_kernel__ = True
    return func


JUDGE = contextvars.ContextVar("judge", default=None)  # the judge running a test cell here, if any


def run_in_kernel(func, *args, **kwargs):
    """Call ``func`` (an ``@in_kernel`` function, or one of the given code) in the student's
    kernel: to build there what the student's code takes (a model, an optimizer), or to read
    facts of what it built. In the notebook the kernel is here, so this is
    ``func(*args, **kwargs)``; when graded, the judge asks the kernel and gets data (or a handle)."""
    judge = JUDGE.get()
    return func(*args, **kwargs) if judge is None else judge.run_in_kernel(func, *args, **kwargs)


# Whole-class autograding pulls in nbgrader, jupyter and SQLAlchemy; loaded on first use only, so
# that a test cell importing the checks above stays fast.
_LAZY = {"autograde": "grader", "GradeResult": "outcome", "CellOutcome": "outcome",
         "grade_class": "batch", "Limits": "sandbox", "SandboxUnavailable": "sandbox"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
