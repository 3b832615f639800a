"""Input validation for the torch operations: the NumPy reference's checks, applied to shapes.

Each tensor is replaced by a zero-memory NumPy stand-in of the same shape before it reaches
``mlcourse.scratch.checks``, so the checks (and their messages) are the reference's own and no
tensor leaves its device. Labels are the exception: their values are read on the CPU.
"""
import numpy as np
import torch

from ..scratch import checks as reference
from ..scratch.conv import _check_pool


def as_shape(name, t):
    """A read-only NumPy array with t's shape and no data; TypeError unless t is a tensor."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}; "
                        f"convert with torch.as_tensor({name})")
    return np.broadcast_to(np.empty((), dtype=np.float64), tuple(t.shape))


def _host_labels(y):
    as_shape("y", y)
    return y.detach().cpu().numpy()


def check_rank(name, t, rank, letters):
    """Raise unless tensor t has ``rank`` dimensions; ``letters`` names them, e.g. '(N, D)'."""
    reference.check_rank(name, as_shape(name, t), rank, letters)


def check_shape(name, t, expected, letters):
    """Raise unless tensor t has shape ``expected``."""
    reference.check_shape(name, as_shape(name, t), expected, letters)


def check_linear_inputs(W, X, y):
    """Validate W (D, C), X (N, D), y (N,) for a linear loss; return (N, D, C)."""
    return reference.check_linear_inputs(as_shape("W", W), as_shape("X", X), _host_labels(y))


def check_scores(scores, y):
    """Validate scores (N, C) and labels y (N,); return (N, C)."""
    return reference.check_scores(as_shape("scores", scores), _host_labels(y))


def check_conv_inputs(x, w, b):
    """Validate x (N, C, H, W), w (F, C, HH, WW), b (F,); return (N, C, H, W, F, HH, WW)."""
    return reference.check_conv_inputs(as_shape("x", x), as_shape("w", w), as_shape("b", b))


def check_pool_inputs(x, pool_height, pool_width, stride):
    """Validate images x (N, C, H, W) and a pooling window; return (N, C, H_out, W_out)."""
    return _check_pool(as_shape("x", x), pool_height, pool_width, stride)
