"""Numerical gradients by central differences, and the relative error used to compare them.

Every probe changes one entry of ``x`` in place and restores it before the next, so the
caller's array is unchanged afterwards.
"""
import numpy as np

from .checks import check_shape


def rel_error(x, y):
    """Max elementwise |x - y| / max(1e-8, |x| + |y|); x and y broadcast together."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def check_probe_input(x):
    """Raise unless x is a float NumPy array: probes change it in place, and an integer array
    would round x[i] +- h back to x[i] and give a zero gradient."""
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        got = f"an array of dtype {x.dtype}" if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(f"x must be a NumPy array of floats (it is probed in place), got {got}; "
                         "convert it with np.asarray(x, dtype=np.float64)")


def _probe(f, x, i, h):
    """Return (f(x + h e_i), f(x - h e_i)) with x[i] restored afterwards."""
    old = x[i]
    x[i] = old + h
    plus = np.copy(f(x))          # copies: f may return a view of x
    x[i] = old - h
    minus = np.copy(f(x))
    x[i] = old
    return plus, minus


def gradient_from_probes(x, probes, h, df=None):
    """Central differences from ``probes``, the pairs (f(x + h e_i), f(x - h e_i)) for each index
    i of x in ``np.ndindex`` order: df/dx, or for an array-valued f (``df`` its upstream
    gradient) the gradient of sum(f(x) * df). Returns an array of x's shape."""
    grad = np.zeros_like(x, dtype=np.float64)
    for i, (plus, minus) in zip(np.ndindex(x.shape), probes):
        grad[i] = (plus - minus) / (2 * h) if df is None else np.sum((plus - minus) * df) / (2 * h)
    return grad


def eval_numerical_gradient(f, x, h=1e-5):
    """Gradient of a scalar function ``f`` at ``x``.

    x: array of any shape (modified during probing, restored after each entry).
    Returns an array of x's shape: df/dx by central differences.
    """
    check_probe_input(x)
    return gradient_from_probes(x, (_probe(f, x, i, h) for i in np.ndindex(x.shape)), h)


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Gradient of sum(f(x) * df) at ``x``, for an array-valued ``f``.

    x: input array; df: upstream gradient, the shape of f(x).
    Returns an array of x's shape.
    """
    check_probe_input(x)
    return gradient_from_probes(x, (_probe(f, x, i, h) for i in np.ndindex(x.shape)), h, df)


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=0, verbose=False):
    """Compare ``analytic_grad`` with central differences at ``num_checks`` random entries.

    f: scalar function of x; analytic_grad: array of x's shape; seed picks the entries;
    verbose prints each comparison. Returns the list of relative errors, one per checked entry.
    """
    check_probe_input(x)
    check_shape("analytic_grad", analytic_grad, x.shape, "x's shape")
    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(num_checks):
        i = tuple(int(rng.integers(n)) for n in x.shape)
        plus, minus = _probe(f, x, i, h)
        numeric = float((plus - minus) / (2 * h))
        analytic = float(analytic_grad[i])
        err = rel_error(numeric, analytic)
        if verbose:
            print(f"numerical {numeric:.6e} analytic {analytic:.6e} relative error {err:.2e}")
        errors.append(err)
    return errors
