"""Gates of a computational graph (chapter 4): each computes its output and, given the gradient
of the final result with respect to that output, hands back the gradients of its inputs.

Inputs are scalars or arrays (broadcast like NumPy); gradients come back with each input's
shape. The sigmoid gate is ``sigmoid_forward``/``sigmoid_backward`` from ``layers``.
"""
import numpy as np

from .layers import sigmoid_backward, sigmoid_forward


def _unbroadcast(grad, shape):
    """Sum ``grad`` over the axes NumPy broadcast an input of ``shape`` along."""
    grad = np.asarray(grad)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def add_forward(x, y):
    """out = x + y. Returns (out, cache)."""
    return np.add(x, y), (np.shape(x), np.shape(y))


def add_backward(dout, cache):
    """d(x + y)/dx = d(x + y)/dy = 1: the add gate passes dout unchanged to both inputs.
    Returns (dx, dy)."""
    x_shape, y_shape = cache
    return _unbroadcast(dout, x_shape), _unbroadcast(dout, y_shape)


def multiply_forward(x, y):
    """out = x * y. Returns (out, cache)."""
    return np.multiply(x, y), (x, y)


def multiply_backward(dout, cache):
    """d(x * y)/dx = y and d(x * y)/dy = x: the multiply gate swaps its inputs.
    Returns (dx, dy)."""
    x, y = cache
    return _unbroadcast(dout * np.asarray(y), np.shape(x)), _unbroadcast(dout * np.asarray(x), np.shape(y))


def max_forward(x, y):
    """out = max(x, y), elementwise. Returns (out, cache)."""
    return np.maximum(x, y), (x, y)


def max_backward(dout, cache):
    """The max gate routes dout to the larger input (to x on a tie) and 0 to the other.
    Returns (dx, dy)."""
    x, y = cache
    x_wins = np.asarray(x) >= np.asarray(y)
    return (_unbroadcast(np.where(x_wins, dout, 0.0), np.shape(x)),
            _unbroadcast(np.where(x_wins, 0.0, dout), np.shape(y)))


def worked_example(x=-2.0, y=5.0, z=-4.0):
    """The graph f = (x + y) * z, evaluated forward and backward gate by gate.

    Returns a dict with the forward values q = x + y and f, and the gradients
    df/dq = z, df/dz = q, df/dx = df/dy = z (the add gate passes df/dq on).
    At the default inputs: q = 3, f = -12, df/dx = df/dy = -4, df/dz = 3.
    """
    q, add_cache = add_forward(x, y)
    f, mul_cache = multiply_forward(q, z)
    dq, dz = multiply_backward(1.0, mul_cache)
    dx, dy = add_backward(dq, add_cache)
    return {"q": float(q), "f": float(f), "df/dq": float(dq),
            "df/dx": float(dx), "df/dy": float(dy), "df/dz": float(dz)}


def neuron_example(w=(2.0, -3.0, -3.0), x=(-1.0, -2.0)):
    """A sigmoid neuron f = sigmoid(w0 * x0 + w1 * x1 + w2) built from gates.

    Inputs: w (3,) two weights and a bias; x (2,) inputs.
    Returns a dict with the output f and the gradients df/dw (3,) and df/dx (2,); the sigmoid
    gate's local gradient is f * (1 - f).
    """
    w = np.asarray(w, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if w.shape != (3,) or x.shape != (2,):
        raise ValueError(f"w must have shape (3,) and x shape (2,), got {w.shape} and {x.shape}")
    p0, c0 = multiply_forward(w[0], x[0])
    p1, c1 = multiply_forward(w[1], x[1])
    s, cs = add_forward(p0, p1)
    z, cz = add_forward(s, w[2])
    f, cf = sigmoid_forward(z)
    dz = sigmoid_backward(1.0, cf)
    ds, dw2 = add_backward(dz, cz)
    dp0, dp1 = add_backward(ds, cs)
    dw0, dx0 = multiply_backward(dp0, c0)
    dw1, dx1 = multiply_backward(dp1, c1)
    return {"f": float(f), "df/dw": np.array([dw0, dw1, dw2], dtype=np.float64),
            "df/dx": np.array([dx0, dx1], dtype=np.float64)}
