"""Input validation for the torch operations: the reference's shape checks, applied to tensors.

The shape checks of ``mlcourse.scratch.checks`` read only ``.shape``, so they take tensors as they
are (same checks, same messages, nothing leaves the device). Label values are checked on the
device: one reduction ``((y < 0) | (y >= C)).any()``, read back as one bool, which is the only
device sync a loss spends on validation; the smallest and largest label are read only to word
the error.
"""
import torch

from ..scratch import checks as reference
from ..scratch.checks import check_label_shape, label_dtype_error, label_range_error


def check_tensor(name, t):
    """Return t; TypeError unless it is a torch.Tensor."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}; "
                        f"convert with torch.as_tensor({name})")
    return t


def check_labels(y, n, num_classes, values=True):
    """Raise unless the tensor y holds n integer labels in [0, num_classes); ``values=False``
    checks the shape and dtype only (no sync), for a caller whose next step checks the values."""
    check_tensor("y", y)
    check_label_shape(y, n)
    if n and (y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool):
        raise label_dtype_error(y.dtype)
    if values and n and bool(((y < 0) | (y >= num_classes)).any()):          # one sync
        raise label_range_error(num_classes, int(y.min()), int(y.max()))


def check_rank(name, t, rank, letters):
    """Raise unless tensor t has ``rank`` dimensions; ``letters`` names them, e.g. '(N, D)'."""
    reference.check_rank(name, check_tensor(name, t), rank, letters)


def check_shape(name, t, expected, letters):
    """Raise unless tensor t has shape ``expected``."""
    reference.check_shape(name, check_tensor(name, t), expected, letters)


def check_linear_inputs(W, X, y, values=True):
    """Validate W (D, C), X (N, D), y (N,) for a linear loss; return (N, D, C). ``values`` as in
    ``check_labels``."""
    def labels(y, n, num_classes):
        check_labels(y, n, num_classes, values)
    return reference.check_linear_inputs(check_tensor("W", W), check_tensor("X", X), y, labels=labels)


def check_scores(scores, y):
    """Validate scores (N, C) and labels y (N,); return (N, C)."""
    return reference.check_scores(check_tensor("scores", scores), y, labels=check_labels)


def check_conv_inputs(x, w, b):
    """Validate x (N, C, H, W), w (F, C, HH, WW), b (F,); return (N, C, H, W, F, HH, WW)."""
    return reference.check_conv_inputs(check_tensor("x", x), check_tensor("w", w), check_tensor("b", b))


def check_pool_inputs(x, pool_height, pool_width, stride):
    """Validate images x (N, C, H, W) and a pooling window; return (N, C, H_out, W_out)."""
    return reference.check_pool_inputs(check_tensor("x", x), pool_height, pool_width, stride)
