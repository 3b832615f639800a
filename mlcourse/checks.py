"""Input validation shared by the reference implementations and the student package: clear ValueErrors, early."""
import numpy as np


def check_rank(name, a, rank, letters):
    """Raise unless ``a`` has ``rank`` dimensions; ``letters`` names them, e.g. '(N, D)'."""
    a = np.asarray(a)
    if a.ndim != rank:
        raise ValueError(f"{name} must have shape {letters} ({rank} dimensions), got shape {a.shape}")


def check_labels(y, n, num_classes):
    """Raise unless y is n integer labels in [0, num_classes)."""
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"y must have shape (N,) = ({n},), one label per row, got shape {y.shape}")
    if n and not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer class labels, got dtype {y.dtype}")
    if n and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes}) for C = {num_classes} classes, "
            f"got values from {y.min()} to {y.max()}"
        )


def check_linear_inputs(W, X, y):
    """Validate W (D, C), X (N, D), y (N,) for a linear loss; return (N, D, C)."""
    check_rank("W", W, 2, "(D, C)")
    check_rank("X", X, 2, "(N, D)")
    N, D = X.shape
    if W.shape[0] != D:
        raise ValueError(f"W must have shape (D, C) with D = {D} (X's columns), got W of shape {W.shape}")
    C = W.shape[1]
    check_labels(y, N, C)
    return N, D, C


def check_scores(scores, y):
    """Validate scores (N, C) and labels y (N,); return (N, C)."""
    check_rank("scores", scores, 2, "(N, C)")
    N, C = scores.shape
    check_labels(y, N, C)
    return N, C


def check_shape(name, a, expected, letters):
    """Raise unless ``a`` has shape ``expected``; ``letters`` names it, e.g. '(F,)'."""
    shape = np.shape(a)
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
    N, C, H, W = x.shape
    if w.shape[channel_axis] != C:
        raise ValueError(f"w must have shape {layout} with C = {C} (x's channels), got w of shape {w.shape}")
    F, HH, WW = w.shape[1 - channel_axis], w.shape[2], w.shape[3]
    check_shape("b", b, (F,), "(F,)")
    return N, C, H, W, F, HH, WW
