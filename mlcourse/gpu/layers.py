"""Layers and losses on torch tensors with hand-written backward passes.

Same names, signatures and ``(out, cache)`` / ``op_backward(dout, cache)`` contract as
``mlcourse.scratch``; no autograd is involved. Every result lives on the device and has the dtype
of the inputs, so the same code runs on the CPU and on CUDA.

Shapes: x (N, d1, ..., dk) or (N, D); scores (N, C); labels y (N,) integers in [0, C);
images (N, C, H, W).
"""
import math

import torch

from .checks import check_rank, check_scores, check_shape, check_tensor


def affine_forward(x, w, b):
    """Fully connected layer: out = x.reshape(N, D) @ w + b.

    Inputs: x (N, d1, ..., dk) with D = d1 * ... * dk; w (D, M); b (M,).
    Returns (out, cache): out (N, M); cache (x, w) for ``affine_backward``.
    """
    check_rank("w", w, 2, "(D, M)")
    D, M = w.shape
    if check_tensor("x", x).dim() < 2 or math.prod(x.shape[1:]) != D:
        raise ValueError(f"x must have shape (N, d1, ..., dk) with d1 * ... * dk = D = {D} (w's rows), "
                         f"got x of shape {tuple(x.shape)}")
    check_shape("b", b, (M,), "(M,)")
    out = x.reshape(x.shape[0], D) @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    """Inputs: dout (N, M); cache. Returns (dx, dw, db) shaped like x, w (D, M), b (M,)."""
    x, w = cache
    check_shape("dout", dout, (x.shape[0], w.shape[1]), "(N, M)")
    x_flat = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)        # d(x w)/dx = w
    dw = x_flat.T @ dout                      # d(x w)/dw = x
    db = dout.sum(dim=0)
    return dx, dw, db


def relu_forward(x):
    """max(0, x) elementwise. Returns (out, cache), out of x's shape."""
    return x.clamp(min=0), x


def relu_backward(dout, cache):
    """The gradient passes where x > 0 and stops elsewhere (0 at the kink). Returns dx."""
    x = cache
    return dout * (x > 0)


def leaky_relu_forward(x, alpha=0.01):
    """x where x > 0, alpha * x elsewhere. Returns (out, cache), out of x's shape."""
    return torch.where(x > 0, x, alpha * x), (x, alpha)


def leaky_relu_backward(dout, cache):
    """Slope 1 where x > 0, alpha elsewhere. Returns dx."""
    x, alpha = cache
    return torch.where(x > 0, dout, alpha * dout)


def sigmoid_forward(x):
    """1 / (1 + exp(-x)) elementwise. Returns (out, cache), out of x's shape."""
    out = torch.sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    """d sigmoid / dx = s (1 - s), from the saved output s. Returns dx."""
    s = cache
    return dout * s * (1 - s)


def tanh_forward(x):
    """tanh(x) elementwise. Returns (out, cache), out of x's shape."""
    out = torch.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """d tanh / dx = 1 - t^2, from the saved output t. Returns dx."""
    t = cache
    return dout * (1 - t * t)


def dropout_forward(x, p, mode, seed=None):
    """Inverted dropout: in 'train' mode keep each unit with probability p and scale it by 1/p,
    so that 'test' mode is the identity.

    Inputs: x of any shape; p keep probability in (0, 1]; mode 'train' or 'test'; seed for a
    reproducible mask (drawn by a generator on x's device; None uses torch's global generator).
    Returns (out, cache): out of x's shape; cache (mode, mask) with mask of x's shape in 'train'.
    """
    if not 0 < p <= 1:
        raise ValueError(f"p is the keep probability and must lie in (0, 1], got {p}")
    if mode not in ("train", "test"):
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    if mode == "test":
        return x, (mode, None)
    generator = None if seed is None else torch.Generator(device=x.device).manual_seed(seed)
    keep = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype) < p
    mask = keep.to(x.dtype) / p
    return x * mask, (mode, mask)


def dropout_backward(dout, cache):
    """Dropped units get no gradient, kept ones get it scaled by 1/p. Returns dx."""
    mode, mask = cache
    return dout * mask if mode == "train" else dout


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization over the N axis of x (N, D), then scale and shift.

    In 'train' mode x is normalized with the batch mean and (biased) variance, and the running
    averages are updated in place: running = momentum * running + (1 - momentum) * batch.
    In 'test' mode the running averages are used instead.

    Inputs: x (N, D); gamma (D,) scale; beta (D,) shift; bn_param dict with 'mode' ('train' or
    'test'), optional 'eps' (1e-5), 'momentum' (0.9), 'running_mean' and 'running_var' (D,)
    (zeros and ones on x's device when absent).
    Returns (out, cache): out (N, D); cache for ``batchnorm_backward``.
    """
    check_rank("x", x, 2, "(N, D)")
    D = x.shape[1]
    check_shape("gamma", gamma, (D,), "(D,)")
    check_shape("beta", beta, (D,), "(D,)")
    mode = bn_param.get("mode")
    if mode not in ("train", "test"):
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    running_mean = bn_param.get("running_mean", torch.zeros(D, dtype=x.dtype, device=x.device))
    running_var = bn_param.get("running_var", torch.ones(D, dtype=x.dtype, device=x.device))
    if mode == "train":
        mean = x.mean(dim=0)
        var = x.var(dim=0, unbiased=False)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    else:
        mean, var = running_mean, running_var
    return _normalize(x, gamma, beta, mean, var, eps, None if mode == "test" else 0)


def _normalize(x, gamma, beta, mean, var, eps, axis):
    """gamma * (x - mean) / sqrt(var + eps) + beta; ``axis`` is the one mean and var were taken
    over (0 for batch norm, 1 for layer norm, None for fixed statistics)."""
    inv_std = 1 / torch.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    out = gamma * x_hat + beta
    return out, (x_hat, gamma, inv_std, axis)


def _normalize_backward(dout, cache):
    """Returns (dx, dgamma, dbeta). When the statistics come from the M entries along ``axis``,
    every entry moves them, which gives the compact form
    dx = inv_std / M * (M * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat))."""
    x_hat, gamma, inv_std, axis = cache
    check_shape("dout", dout, x_hat.shape, "(N, D), the forward output's shape")
    dbeta = dout.sum(dim=0)
    dgamma = (dout * x_hat).sum(dim=0)
    dx_hat = dout * gamma
    if axis is None:
        return dx_hat * inv_std, dgamma, dbeta
    M = dout.shape[axis]
    total = dx_hat.sum(dim=axis, keepdim=True)
    projection = (dx_hat * x_hat).sum(dim=axis, keepdim=True)
    dx = inv_std / M * (M * dx_hat - total - x_hat * projection)
    return dx, dgamma, dbeta


def batchnorm_backward(dout, cache):
    """Backward pass of ``batchnorm_forward``.

    Inputs: dout (N, D); cache. Returns (dx, dgamma, dbeta) with shapes (N, D), (D,), (D,).
    """
    return _normalize_backward(dout, cache)


def layernorm_forward(x, gamma, beta, ln_param=None):
    """Layer normalization: normalize every row of x (N, D) over its D features, then scale
    and shift; the same in training and testing, so no running averages.

    Inputs: x (N, D); gamma, beta (D,); ln_param: optional dict with 'eps' (1e-5).
    Returns (out, cache): out (N, D).
    """
    check_rank("x", x, 2, "(N, D)")
    D = x.shape[1]
    check_shape("gamma", gamma, (D,), "(D,)")
    check_shape("beta", beta, (D,), "(D,)")
    eps = (ln_param or {}).get("eps", 1e-5)
    mean = x.mean(dim=1, keepdim=True)
    var = x.var(dim=1, unbiased=False, keepdim=True)
    return _normalize(x, gamma, beta, mean, var, eps, 1)


def layernorm_backward(dout, cache):
    """Backward pass of ``layernorm_forward``. Returns (dx, dgamma, dbeta): (N, D), (D,), (D,)."""
    return _normalize_backward(dout, cache)


def _channels_last(x):
    """(N, C, H, W) -> (N * H * W, C): every pixel becomes a row."""
    return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])


def _channels_first(rows, shape):
    """Inverse of ``_channels_last`` for an image batch of ``shape`` (N, C, H, W)."""
    N, C, H, W = shape
    return rows.reshape(N, H, W, C).permute(0, 3, 1, 2).contiguous()


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization of images, one mean and variance per channel over N, H and W.

    Inputs: x (N, C, H, W); gamma, beta (C,); bn_param as in ``batchnorm_forward``.
    Returns (out, cache): out (N, C, H, W).
    """
    check_rank("x", x, 4, "(N, C, H, W)")
    out, cache = batchnorm_forward(_channels_last(x), gamma, beta, bn_param)
    return _channels_first(out, x.shape), (x.shape, cache)


def spatial_batchnorm_backward(dout, cache):
    """Returns (dx, dgamma, dbeta) with shapes (N, C, H, W), (C,), (C,)."""
    shape, cache = cache
    check_shape("dout", dout, shape, "(N, C, H, W)")
    dx, dgamma, dbeta = batchnorm_backward(_channels_last(dout), cache)
    return _channels_first(dx, shape), dgamma, dbeta


def softmax_loss(scores, y):
    """Mean cross-entropy of the softmax of scores, stable by shifting each row by its max.

    L = 1/N sum_i -log(exp(s_{i, y_i}) / sum_j exp(s_ij)); dL/ds_ij = (p_ij - [j == y_i]) / N.
    Inputs: scores (N, C); y (N,) labels in [0, C).
    Returns (loss, dscores): loss a Python float; dscores (N, C).
    """
    N, C = check_scores(scores, y)
    rows = torch.arange(N, device=scores.device)
    shifted = scores - scores.max(dim=1, keepdim=True).values
    log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
    loss = -log_probs[rows, y].mean()
    dscores = torch.exp(log_probs)
    dscores[rows, y] -= 1
    return float(loss), dscores / N


def svm_loss(scores, y):
    """Mean multiclass hinge loss: L = 1/N sum_i sum_{j != y_i} max(0, s_ij - s_{i, y_i} + 1).

    Inputs: scores (N, C); y (N,) labels in [0, C).
    Returns (loss, dscores): loss a Python float; dscores (N, C).
    """
    N, C = check_scores(scores, y)
    rows = torch.arange(N, device=scores.device)
    margins = (scores - scores[rows, y][:, None] + 1).clamp(min=0)
    margins[rows, y] = 0
    loss = margins.sum() / N
    active = (margins > 0).to(scores.dtype)                # d loss_i / d s_ij for j != y_i
    active[rows, y] = -active.sum(dim=1)                    # d loss_i / d s_{i, y_i}
    return float(loss), active / N
