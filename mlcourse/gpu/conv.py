"""Convolution and pooling on torch tensors through im2col (``unfold``) and col2im (``fold``).

Same contract as ``mlcourse.scratch.conv``'s ``_fast`` twins: images x (N, C, H, W), filters
w (F, C, HH, WW), biases b (F,), outputs (N, F, H_out, W_out) with

    H_out = (H - (d * (HH - 1) + 1) + 2P) / S + 1

for stride S, zero padding P and dilation d; a size that S does not divide raises ValueError.
The backward passes are written out (no autograd) and run on the inputs' device.
"""
import torch
from torch.nn import functional

from ..scratch.checks import conv_output_size
from .checks import check_conv_inputs, check_pool_inputs, check_shape


def conv_forward_fast(x, w, b, stride=1, pad=0, dilation=1):
    """Convolution as one batched matrix product over unfolded windows.

    Inputs: x (N, C, H, W); w (F, C, HH, WW); b (F,); stride S; pad P; dilation d (the taps of a
    filter sit d pixels apart).
    Returns (out, cache): out (N, F, H_out, W_out); cache for ``conv_backward_fast``.
    """
    N, C, H, W, F, HH, WW = check_conv_inputs(x, w, b)
    H_out, W_out = _out_hw(x.shape, HH, WW, stride, pad, dilation)
    cols = functional.unfold(x, (HH, WW), dilation=dilation, padding=pad, stride=stride)  # (N, C*HH*WW, L)
    out = w.reshape(F, -1) @ cols + b[:, None]                                          # (N, F, L)
    out = out.reshape(N, F, H_out, W_out)
    return out, (x.shape, w, cols, stride, pad, dilation)


def conv_backward_fast(dout, cache):
    """Backward pass of ``conv_forward_fast``: two matrix products and a fold.

    Inputs: dout (N, F, H_out, W_out); cache. Returns (dx, dw, db) shaped like x (N, C, H, W),
    w (F, C, HH, WW) and b (F,).
    """
    x_shape, w, cols, stride, pad, dilation = cache
    N, F, HH, WW = x_shape[0], w.shape[0], w.shape[2], w.shape[3]
    _check_dout(dout, (N, F) + _out_hw(x_shape, HH, WW, stride, pad, dilation))
    dout_cols = dout.reshape(N, F, -1)
    db = dout.sum(dim=(0, 2, 3))
    dw = torch.tensordot(dout_cols, cols, dims=([0, 2], [0, 2])).reshape(w.shape)  # out = w cols: d/dw = cols
    dcols = w.reshape(F, -1).T @ dout_cols                                         # d/dcols = w
    dx = functional.fold(dcols, x_shape[2:], (HH, WW), dilation=dilation, padding=pad, stride=stride)
    return dx, dw, db


def _pool_windows(x, pool_height, pool_width, stride):
    """Unfold every channel separately: x (N, C, H, W) -> cols (N * C, pool_height * pool_width, L)
    with L = H_out * W_out; returns (cols, (N, C, H_out, W_out))."""
    out_shape = check_pool_inputs(x, pool_height, pool_width, stride)
    N, C, H, W = x.shape
    cols = functional.unfold(x.reshape(N * C, 1, H, W), (pool_height, pool_width), stride=stride)
    return cols, out_shape


def _pool_fold(dcols, x_shape, pool_height, pool_width, stride):
    """Adjoint of ``_pool_windows``: dcols (N * C, ph * pw, L) -> dx (N, C, H, W)."""
    N, C, H, W = x_shape
    dx = functional.fold(dcols, (H, W), (pool_height, pool_width), stride=stride)
    return dx.reshape(N, C, H, W)


def max_pool_forward_fast(x, pool_height=2, pool_width=2, stride=2):
    """Max pooling: the largest value of each pool_height x pool_width window, per channel.

    Inputs: x (N, C, H, W). Returns (out, cache): out (N, C, H_out, W_out) with
    H_out = (H - pool_height)/stride + 1, W_out = (W - pool_width)/stride + 1.
    """
    cols, out_shape = _pool_windows(x, pool_height, pool_width, stride)
    out, winner = cols.max(dim=1)                         # winner: first maximum of each window
    return out.reshape(out_shape), (x.shape, winner, pool_height, pool_width, stride)


def max_pool_backward_fast(dout, cache):
    """Each window's gradient goes to its (first) largest entry. Returns dx (N, C, H, W)."""
    x_shape, winner, ph, pw, stride = cache
    N, C = x_shape[:2]
    _check_dout(dout, (N, C) + _out_hw(x_shape, ph, pw, stride))
    dcols = dout.new_zeros((N * C, ph * pw, winner.shape[1]))
    dcols.scatter_(1, winner[:, None, :], dout.reshape(N * C, 1, -1))
    return _pool_fold(dcols, x_shape, ph, pw, stride)


def avg_pool_forward_fast(x, pool_height=2, pool_width=2, stride=2):
    """Average pooling: the mean of each window, per channel; shapes as ``max_pool_forward_fast``."""
    cols, out_shape = _pool_windows(x, pool_height, pool_width, stride)
    return cols.mean(dim=1).reshape(out_shape), (x.shape, pool_height, pool_width, stride)


def avg_pool_backward_fast(dout, cache):
    """Every entry of a window receives 1 / (pool_height * pool_width) of its gradient.
    Returns dx (N, C, H, W)."""
    x_shape, ph, pw, stride = cache
    N, C = x_shape[:2]
    _check_dout(dout, (N, C) + _out_hw(x_shape, ph, pw, stride))
    share = dout.reshape(N * C, 1, -1) / (ph * pw)
    return _pool_fold(share.expand(-1, ph * pw, -1), x_shape, ph, pw, stride)


def _out_hw(x_shape, field_h, field_w, stride, pad=0, dilation=1):
    """(H_out, W_out) of a window field_h x field_w slid over an input of shape (N, C, H, W)."""
    return (conv_output_size(x_shape[2], field_h, stride, pad, dilation),
            conv_output_size(x_shape[3], field_w, stride, pad, dilation))


def _check_dout(dout, shape):
    check_shape("dout", dout, shape, "the forward output's shape (N, F, H_out, W_out)")
