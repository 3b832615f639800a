"""Layers of a neural network, each a forward function and its backward pass.

Contract: ``op_forward(x, *params, **hyper) -> (out, cache)`` and ``op_backward(dout, cache)``
returning the gradients in parameter order (``dx`` alone for parameter-free layers). Losses on
class scores take ``(scores, y)`` and return ``(loss, dscores)``, averaged over the batch.

Shapes: N batch, D features, M outputs, C classes (or channels for images (N, C, H, W)).
"""
import numpy as np

from .checks import check_rank, check_scores, check_shape
from .conv import (
    conv_backward_fast,
    conv_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
)


def sigmoid(z):
    """Logistic function 1 / (1 + exp(-z)), elementwise, without overflow for large |z|."""
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def affine_forward(x, w, b):
    """Fully connected layer: out = x.reshape(N, D) @ w + b.

    Inputs:
    - x: (N, d_1, ..., d_k) inputs, flattened to (N, D) with D = d_1 * ... * d_k
    - w: (D, M) weights
    - b: (M,) biases

    Returns (out, cache): out (N, M).
    """
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"x must have shape (N, d_1, ..., d_k), at least 2 dimensions, got shape {x.shape}")
    check_rank("w", w, 2, "(D, M)")
    D = int(np.prod(x.shape[1:]))
    if w.shape[0] != D:
        raise ValueError(f"x of shape {x.shape} has D = {D} features per example, so w must have "
                         f"shape (D, M) = ({D}, M), got w of shape {w.shape}")
    check_shape("b", b, (w.shape[1],), "(M,)")
    out = x.reshape(x.shape[0], D) @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    """Backward pass of ``affine_forward``.

    Inputs: dout (N, M); cache. Returns (dx, dw, db): dx (N, d_1, ..., d_k), dw (D, M), db (M,).
    """
    x, w = cache
    check_shape("dout", dout, (x.shape[0], w.shape[1]), "(N, M)")
    # out = x @ w + b: d/dx = w^T, d/dw = x^T, d/db = 1
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    """ReLU max(0, x), elementwise. Input x of any shape; returns (out, cache), out like x."""
    out = np.maximum(0, x)
    return out, x


def relu_backward(dout, cache):
    """Backward pass of ``relu_forward``: d relu / dx = 1 where x > 0, else 0. Returns dx."""
    x = cache
    return dout * (x > 0)


def leaky_relu_forward(x, alpha=0.01):
    """Leaky ReLU: x where x > 0, alpha * x elsewhere. Returns (out, cache), out like x."""
    out = np.where(x > 0, x, alpha * x)
    return out, (x, alpha)


def leaky_relu_backward(dout, cache):
    """Backward pass of ``leaky_relu_forward``: slope 1 where x > 0, alpha elsewhere. Returns dx."""
    x, alpha = cache
    return np.where(x > 0, dout, alpha * dout)


def sigmoid_forward(x):
    """Sigmoid 1 / (1 + exp(-x)), elementwise. Returns (out, cache), out like x."""
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    """Backward pass of ``sigmoid_forward``: d sigma / dx = sigma * (1 - sigma). Returns dx."""
    out = cache
    return dout * out * (1 - out)


def tanh_forward(x):
    """Hyperbolic tangent, elementwise. Returns (out, cache), out like x."""
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """Backward pass of ``tanh_forward``: d tanh / dx = 1 - tanh^2. Returns dx."""
    out = cache
    return dout * (1 - out ** 2)


def dropout_forward(x, p, mode, seed=None):
    """Inverted dropout: in training keep each unit with probability p and scale it by 1 / p,
    so that nothing changes at test time.

    Inputs:
    - x: inputs of any shape
    - p: keep probability, 0 < p <= 1
    - mode: 'train' (drop) or 'test' (identity)
    - seed: seeds the mask, so the same seed drops the same units (for gradient checks)

    Returns (out, cache): out like x.
    """
    if not 0 < p <= 1:
        raise ValueError(f"p is the keep probability and must lie in (0, 1], got {p}")
    if mode not in ("train", "test"):
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    if mode == "test":
        return x, (None, mode)
    keep = np.random.default_rng(seed).random(np.shape(x)) < p
    mask = (keep / p).astype(np.result_type(x, np.float32))
    return x * mask, (mask, mode)


def dropout_backward(dout, cache):
    """Backward pass of ``dropout_forward``: the gradient flows through the kept units only,
    scaled by the same 1 / p. Returns dx."""
    mask, mode = cache
    return dout * mask if mode == "train" else dout


def _norm_param(bn_param, D, dtype):
    mode = bn_param.get("mode")
    if mode not in ("train", "test"):
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    bn_param.setdefault("running_mean", np.zeros(D, dtype=dtype))
    bn_param.setdefault("running_var", np.ones(D, dtype=dtype))
    return mode, bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)


def _normalize(x, gamma, beta, mean, var, eps, axis):
    """(x - mean) / sqrt(var + eps), scaled by gamma and shifted by beta; returns (out, cache)."""
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std, axis)


def _normalize_backward(dout, cache):
    """Backward pass of ``_normalize`` when mean and var are statistics of x along ``axis``."""
    x_hat, gamma, inv_std, axis = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    # the mean and variance depend on every x along axis: subtract their share of the gradient
    dx = inv_std * (dx_hat - dx_hat.mean(axis=axis, keepdims=True)
                    - x_hat * (dx_hat * x_hat).mean(axis=axis, keepdims=True))
    return dx, dgamma, dbeta


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization: normalize every feature over the batch, then scale and shift.

    Inputs:
    - x: (N, D) inputs
    - gamma, beta: (D,) scale and shift
    - bn_param: dict with 'mode' ('train' or 'test'), optional 'eps' (1e-5) and 'momentum'
      (0.9); holds the running averages 'running_mean' and 'running_var' (D,), updated in
      training as running = momentum * running + (1 - momentum) * batch statistic (the biased
      batch variance) and used in place of the batch statistics at test time.

    Returns (out, cache): out (N, D).
    """
    check_rank("x", x, 2, "(N, D)")
    N, D = x.shape
    check_shape("gamma", gamma, (D,), "(D,)")
    check_shape("beta", beta, (D,), "(D,)")
    mode, eps, momentum = _norm_param(bn_param, D, x.dtype)
    if mode == "test":
        return _normalize(x, gamma, beta, bn_param["running_mean"], bn_param["running_var"], eps, None)
    mean, var = x.mean(axis=0), x.var(axis=0)
    bn_param["running_mean"] = momentum * bn_param["running_mean"] + (1 - momentum) * mean
    bn_param["running_var"] = momentum * bn_param["running_var"] + (1 - momentum) * var
    return _normalize(x, gamma, beta, mean, var, eps, 0)


def batchnorm_backward(dout, cache):
    """Backward pass of ``batchnorm_forward``.

    Inputs: dout (N, D); cache. Returns (dx, dgamma, dbeta): dx (N, D), dgamma and dbeta (D,).
    In test mode the statistics are constants and dx is simply dout * gamma / sqrt(var + eps).
    """
    x_hat, gamma, inv_std, axis = cache
    check_shape("dout", dout, x_hat.shape, "(N, D)")
    if axis is None:
        return dout * gamma * inv_std, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
    return _normalize_backward(dout, cache)


def layernorm_forward(x, gamma, beta, ln_param=None):
    """Layer normalization: normalize every example over its features, then scale and shift.

    Inputs: x (N, D); gamma, beta (D,); ln_param: optional dict with 'eps' (1e-5).
    Same in training and testing, so it keeps no running averages. Returns (out, cache), out (N, D).
    """
    check_rank("x", x, 2, "(N, D)")
    D = x.shape[1]
    check_shape("gamma", gamma, (D,), "(D,)")
    check_shape("beta", beta, (D,), "(D,)")
    eps = (ln_param or {}).get("eps", 1e-5)
    mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    return _normalize(x, gamma, beta, mean, var, eps, 1)


def layernorm_backward(dout, cache):
    """Backward pass of ``layernorm_forward``. Returns (dx, dgamma, dbeta): (N, D), (D,), (D,)."""
    check_shape("dout", dout, cache[0].shape, "(N, D)")
    return _normalize_backward(dout, cache)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization for images: every channel is normalized over N, H and W.

    Inputs: x (N, C, H, W); gamma, beta (C,); bn_param as in ``batchnorm_forward``.
    Returns (out, cache): out (N, C, H, W).
    """
    check_rank("x", x, 4, "(N, C, H, W)")
    N, C, H, W = x.shape
    rows = x.transpose(0, 2, 3, 1).reshape(-1, C)                # one row per pixel
    out, cache = batchnorm_forward(rows, gamma, beta, bn_param)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), (cache, x.shape)


def spatial_batchnorm_backward(dout, cache):
    """Backward pass of ``spatial_batchnorm_forward``. Returns (dx, dgamma, dbeta):
    dx (N, C, H, W), dgamma and dbeta (C,)."""
    cache, (N, C, H, W) = cache
    check_shape("dout", dout, (N, C, H, W), "(N, C, H, W)")
    dx, dgamma, dbeta = batchnorm_backward(dout.transpose(0, 2, 3, 1).reshape(-1, C), cache)
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta


def softmax_loss(scores, y):
    """Softmax (cross-entropy) loss on class scores.

    Inputs: scores (N, C); y (N,) integer labels in [0, C).
    Returns (loss, dscores): the mean over N of -log softmax(scores)[y], and its gradient (N, C).
    """
    N, C = check_scores(scores, y)
    rows = np.arange(N)
    shifted = scores - scores.max(axis=1, keepdims=True)          # exp cannot overflow
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].mean()
    dscores = np.exp(log_probs)                                    # d loss_i / d s = p - onehot(y_i)
    dscores[rows, y] -= 1
    return float(loss), dscores / N


def svm_loss(scores, y):
    """Multiclass SVM (hinge) loss on class scores, margin 1.

    Inputs: scores (N, C); y (N,) integer labels in [0, C).
    Returns (loss, dscores): the mean over N of sum_{j != y} max(0, s_j - s_y + 1), and (N, C).
    """
    N, C = check_scores(scores, y)
    rows = np.arange(N)
    margins = np.maximum(0, scores - scores[rows, y][:, None] + 1)
    margins[rows, y] = 0
    loss = margins.sum() / N
    dscores = (margins > 0).astype(scores.dtype)                  # d loss_i / d s_j for j != y_i
    dscores[rows, y] = -dscores.sum(axis=1)                       # d loss_i / d s_{y_i}
    return float(loss), dscores / N


def affine_relu_forward(x, w, b):
    """Affine layer followed by a ReLU. Inputs as ``affine_forward``; returns (out (N, M), cache)."""
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Backward pass of ``affine_relu_forward``. Returns (dx, dw, db)."""
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)


def conv_relu_forward(x, w, b, stride=1, pad=0):
    """Convolution (fast) followed by a ReLU. Inputs as ``conv_forward_fast``; returns
    (out (N, F, H_out, W_out), cache)."""
    a, conv_cache = conv_forward_fast(x, w, b, stride, pad)
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout, cache):
    """Backward pass of ``conv_relu_forward``. Returns (dx, dw, db)."""
    conv_cache, relu_cache = cache
    return conv_backward_fast(relu_backward(dout, relu_cache), conv_cache)


def conv_relu_pool_forward(x, w, b, stride=1, pad=0, pool_height=2, pool_width=2, pool_stride=2):
    """Convolution, ReLU, then max pooling.

    Inputs: x (N, C, H, W), w (F, C, HH, WW), b (F,); the conv's stride and pad; the pool's
    window and stride. Returns (out, cache): out (N, F, H_pool, W_pool), with H_conv =
    (H - HH + 2 * pad)/stride + 1 and H_pool = (H_conv - pool_height)/pool_stride + 1.
    """
    a, conv_relu_cache = conv_relu_forward(x, w, b, stride, pad)
    out, pool_cache = max_pool_forward_fast(a, pool_height, pool_width, pool_stride)
    return out, (conv_relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache):
    """Backward pass of ``conv_relu_pool_forward``. Returns (dx, dw, db)."""
    conv_relu_cache, pool_cache = cache
    return conv_relu_backward(max_pool_backward_fast(dout, pool_cache), conv_relu_cache)
