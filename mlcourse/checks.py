"""Input validation shared by the reference implementations and the student package: clear ValueErrors, early.

The shape checks read only ``a.shape``, so they take NumPy arrays and torch tensors alike (on any
device, without copying); label values are checked here for NumPy, on the device in ``mlcourse.gpu``.
"""
import numpy as np


def shape_of(a):
    """The shape of an array, tensor or nested list, as a plain tuple."""
    return tuple(a.shape) if hasattr(a, "shape") else np.shape(a)


def check_rank(name, a, rank, letters):
    """Raise unless ``a`` has ``rank`` dimensions; ``letters`` names them, e.g. '(N, D)'."""
    shape = shape_of(a)
    if len(shape) != rank:
        raise ValueError(f"{name} must have shape {letters} ({rank} dimensions), got shape {shape}")


def check_label_shape(y, n):
    """Raise unless the labels y have shape (n,): one per row."""
    shape = shape_of(y)
    if shape != (n,):
        raise ValueError(f"y must have shape (N,) = ({n},), one label per row, got shape {shape}")


def label_dtype_error(dtype):
    """The error for labels that are not integers."""
    return ValueError(f"y must hold integer class labels, got dtype {dtype}")


def label_range_error(num_classes, low, high):
    """The error for labels outside [0, num_classes), given their smallest and largest value."""
    return ValueError(f"labels must lie in [0, {num_classes}) for C = {num_classes} classes, "
                      f"got values from {low} to {high}")


def check_labels(y, n, num_classes):
    """Raise unless y is n integer labels in [0, num_classes)."""
    y = np.asarray(y)
    check_label_shape(y, n)
    if n and not np.issubdtype(y.dtype, np.integer):
        raise label_dtype_error(y.dtype)
    if n and (y.min() < 0 or y.max() >= num_classes):
        raise label_range_error(num_classes, y.min(), y.max())


def check_linear_inputs(W, X, y, labels=check_labels):
    """Validate W (D, C), X (N, D), y (N,) for a linear loss; return (N, D, C). ``labels`` is
    the label check ``labels(y, N, C)`` (``mlcourse.gpu`` passes its on-device one)."""
    check_rank("W", W, 2, "(D, C)")
    check_rank("X", X, 2, "(N, D)")
    N, D = shape_of(X)
    if shape_of(W)[0] != D:
        raise ValueError(f"W must have shape (D, C) with D = {D} (X's columns), got W of shape {shape_of(W)}")
    C = shape_of(W)[1]
    labels(y, N, C)
    return N, D, C


def check_scores(scores, y, labels=check_labels):
    """Validate scores (N, C) and labels y (N,); return (N, C). ``labels`` as in ``check_linear_inputs``."""
    check_rank("scores", scores, 2, "(N, C)")
    N, C = shape_of(scores)
    labels(y, N, C)
    return N, C


def check_shape(name, a, expected, letters):
    """Raise unless ``a`` has shape ``expected``; ``letters`` names it, e.g. '(F,)'."""
    shape = shape_of(a)
    if shape != tuple(expected):
        raise ValueError(f"{name} must have shape {letters} = {tuple(expected)}, got shape {shape}")


def check_positive_int(name, value, minimum=1):
    """Raise unless ``value`` is an integer >= ``minimum``; return it as an int."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_conv_inputs(x, w, b, channel_axis=1):
    """Validate images x (N, C, H, W), filters w and biases b; return (N, C, H, W, F, HH, WW).

    For a convolution w is (F, C, HH, WW) (``channel_axis=1``); for a transposed convolution it
    is (C, F, HH, WW) (``channel_axis=0``), the layout torch uses for ``conv_transpose2d``.
    """
    check_rank("x", x, 4, "(N, C, H, W)")
    layout = "(F, C, HH, WW)" if channel_axis == 1 else "(C, F, HH, WW)"
    check_rank("w", w, 4, layout)
    N, C, H, W = shape_of(x)
    w_shape = shape_of(w)
    if w_shape[channel_axis] != C:
        raise ValueError(f"w must have shape {layout} with C = {C} (x's channels), got w of shape {w_shape}")
    F, HH, WW = w_shape[1 - channel_axis], w_shape[2], w_shape[3]
    check_shape("b", b, (F,), "(F,)")
    return N, C, H, W, F, HH, WW
