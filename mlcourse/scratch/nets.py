"""Networks assembled from ``layers``: a two-layer net, a fully connected net of any depth and a
three-layer convnet.

Every model keeps its parameters in ``model.params`` ('W1', 'b1', ...) and has
``loss(X, y=None)``: without labels it returns class scores (N, C); with labels y (N,) it
returns ``(loss, grads)``, grads a dict with the keys of params. The loss is the softmax loss
plus 0.5 * reg * sum(W ** 2) over the weights (not the biases). Weights start as
weight_scale * randn, biases at zero.
"""
import numpy as np

from .checks import check_positive_int
from .layers import (
    affine_backward,
    affine_forward,
    affine_relu_backward,
    affine_relu_forward,
    batchnorm_backward,
    batchnorm_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
    dropout_backward,
    dropout_forward,
    layernorm_backward,
    layernorm_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
)


def _regularize(loss, params, grads, reg):
    """Add 0.5 * reg * sum(W ** 2) over the weights (keys starting with 'W') to loss, and its
    gradient reg * W to grads. Returns the new loss."""
    for name, value in params.items():
        if name.startswith("W"):
            loss += 0.5 * reg * float(np.sum(value * value))
            grads[name] = grads[name] + reg * value
    return loss


class TwoLayerNet:
    """affine - ReLU - affine - softmax.

    Inputs: input_dim D, hidden_dim H, num_classes C; weight_scale; reg; seed for the weights.
    params: W1 (D, H), b1 (H,), W2 (H, C), b2 (C,).
    """

    def __init__(self, input_dim, hidden_dim, num_classes, weight_scale=1e-3, reg=0.0, seed=None):
        rng = np.random.default_rng(seed)
        self.reg = reg
        self.params = {
            "W1": weight_scale * rng.standard_normal((input_dim, hidden_dim)),
            "b1": np.zeros(hidden_dim),
            "W2": weight_scale * rng.standard_normal((hidden_dim, num_classes)),
            "b2": np.zeros(num_classes),
        }

    def loss(self, X, y=None):
        """X (N, d_1, ..., d_k) with D = d_1 * ... * d_k; y (N,) or None.
        Returns scores (N, C) without y, else (loss, grads)."""
        p = self.params
        hidden, hidden_cache = affine_relu_forward(X, p["W1"], p["b1"])
        scores, scores_cache = affine_forward(hidden, p["W2"], p["b2"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, scores_cache)
        _, grads["W1"], grads["b1"] = affine_relu_backward(dhidden, hidden_cache)
        return _regularize(loss, p, grads, self.reg), grads


class FullyConnectedNet:
    """{affine - [batch/layer norm] - ReLU - [dropout]} x (L - 1) - affine - softmax.

    Inputs:
    - hidden_dims: list of the L - 1 hidden sizes
    - input_dim D, num_classes C
    - dropout_keep_ratio: keep probability of dropout after every ReLU; 1 turns dropout off
    - normalization: None, 'batchnorm' or 'layernorm' after every hidden affine layer
    - reg, weight_scale: as in the module docstring
    - dtype: of the parameters and computations (float64 for gradient checks)
    - seed: fixes the initial weights and the dropout masks (the same mask on every call, as
      gradient checks need); None draws fresh masks

    params: W1..WL, b1..bL, and gamma1..gamma(L-1), beta1..beta(L-1) with normalization.
    """

    def __init__(self, hidden_dims, input_dim, num_classes, dropout_keep_ratio=1, normalization=None,
                 reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        if normalization not in (None, "batchnorm", "layernorm"):
            raise ValueError(f"normalization must be None, 'batchnorm' or 'layernorm', got {normalization!r}")
        if not 0 < dropout_keep_ratio <= 1:
            raise ValueError(f"dropout_keep_ratio is a keep probability in (0, 1], got {dropout_keep_ratio}")
        self.normalization = normalization
        self.keep = dropout_keep_ratio
        self.reg = reg
        self.dtype = dtype
        self.seed = seed
        self.num_layers = len(hidden_dims) + 1
        dims = [input_dim, *hidden_dims, num_classes]
        rng = np.random.default_rng(seed)
        self.params = {}
        for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            self.params[f"W{i}"] = weight_scale * rng.standard_normal((fan_in, fan_out))
            self.params[f"b{i}"] = np.zeros(fan_out)
            if normalization and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(fan_out)
                self.params[f"beta{i}"] = np.zeros(fan_out)
        self.params = {k: v.astype(dtype) for k, v in self.params.items()}
        self.bn_params = [{"mode": "train"} for _ in hidden_dims]

    def _hidden_forward(self, x, i, mode):
        """Layer i < L: affine, optional normalization, ReLU, optional dropout."""
        p = self.params
        out, fc_cache = affine_forward(x, p[f"W{i}"], p[f"b{i}"])
        norm_cache = drop_cache = None
        if self.normalization == "batchnorm":
            self.bn_params[i - 1]["mode"] = mode
            out, norm_cache = batchnorm_forward(out, p[f"gamma{i}"], p[f"beta{i}"], self.bn_params[i - 1])
        elif self.normalization == "layernorm":
            out, norm_cache = layernorm_forward(out, p[f"gamma{i}"], p[f"beta{i}"])
        out, relu_cache = relu_forward(out)
        if self.keep < 1:
            seed = None if self.seed is None else (self.seed, i)
            out, drop_cache = dropout_forward(out, self.keep, mode, seed)
        return out, (fc_cache, norm_cache, relu_cache, drop_cache)

    def _hidden_backward(self, dout, cache, i, grads):
        fc_cache, norm_cache, relu_cache, drop_cache = cache
        if drop_cache is not None:
            dout = dropout_backward(dout, drop_cache)
        dout = relu_backward(dout, relu_cache)
        if self.normalization == "batchnorm":
            dout, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward(dout, norm_cache)
        elif self.normalization == "layernorm":
            dout, grads[f"gamma{i}"], grads[f"beta{i}"] = layernorm_backward(dout, norm_cache)
        dx, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, fc_cache)
        return dx

    def loss(self, X, y=None):
        """X (N, d_1, ..., d_k); y (N,) or None (test mode: no dropout, running batchnorm
        statistics). Returns scores (N, C) without y, else (loss, grads)."""
        X = np.asarray(X).astype(self.dtype, copy=False)
        mode = "test" if y is None else "train"
        caches = []
        out = X
        for i in range(1, self.num_layers):
            out, cache = self._hidden_forward(out, i, mode)
            caches.append(cache)
        L = self.num_layers
        scores, scores_cache = affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, scores_cache)
        for i in range(L - 1, 0, -1):
            dout = self._hidden_backward(dout, caches[i - 1], i, grads)
        return _regularize(loss, self.params, grads, self.reg), grads


class ThreeLayerConvNet:
    """conv - ReLU - 2x2 max pool - affine - ReLU - affine - softmax.

    The convolution keeps the spatial size (stride 1, pad (filter_size - 1) / 2); the pool halves it.

    Inputs:
    - input_dim: (C, H, W) of one image, H and W even
    - num_filters F, filter_size (odd), hidden_dim, num_classes
    - weight_scale, reg, dtype, seed: as in ``FullyConnectedNet``

    params: W1 (F, C, filter_size, filter_size), b1 (F,), W2 (F * H/2 * W/2, hidden_dim),
    b2 (hidden_dim,), W3 (hidden_dim, num_classes), b3 (num_classes,).
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0, dtype=np.float32, seed=None):
        C, H, W = input_dim
        filter_size = check_positive_int("filter_size", filter_size)
        if filter_size % 2 == 0:
            raise ValueError(f"filter_size must be odd so that padding keeps the size, got {filter_size}")
        if H % 2 or W % 2:
            raise ValueError(f"input_dim (C, H, W) needs even H and W for the 2x2 pool, got {tuple(input_dim)}")
        self.reg = reg
        self.dtype = dtype
        self.pad = (filter_size - 1) // 2
        rng = np.random.default_rng(seed)
        shapes = {"W1": (num_filters, C, filter_size, filter_size),
                  "W2": (num_filters * (H // 2) * (W // 2), hidden_dim),
                  "W3": (hidden_dim, num_classes)}
        self.params = {}
        for i, (name, shape) in enumerate(shapes.items(), start=1):
            self.params[name] = (weight_scale * rng.standard_normal(shape)).astype(dtype)
            self.params[f"b{i}"] = np.zeros(shape[0] if i == 1 else shape[1], dtype=dtype)

    def loss(self, X, y=None):
        """X (N, C, H, W); y (N,) or None. Returns scores (N, C) without y, else (loss, grads)."""
        X = np.asarray(X).astype(self.dtype, copy=False)
        p = self.params
        pooled, pool_cache = conv_relu_pool_forward(X, p["W1"], p["b1"], stride=1, pad=self.pad)
        hidden, hidden_cache = affine_relu_forward(pooled, p["W2"], p["b2"])
        scores, scores_cache = affine_forward(hidden, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dhidden, grads["W3"], grads["b3"] = affine_backward(dscores, scores_cache)
        dpooled, grads["W2"], grads["b2"] = affine_relu_backward(dhidden, hidden_cache)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dpooled, pool_cache)
        return _regularize(loss, p, grads, self.reg), grads
