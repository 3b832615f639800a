"""Convolution and pooling on image batches: naive loops for the lesson, im2col twins for speed.

Shapes: images x (N, C, H, W); filters w (F, C, HH, WW); biases b (F,); outputs
(N, F, H_out, W_out). Along each axis the output size is

    (W - F + 2P) / S + 1

for input size W, field F, zero padding P and stride S (a dilation d widens the field to
d * (F - 1) + 1). A size that S does not divide raises ``ValueError`` rather than silently
dropping the last row of pixels.

Like every deep-learning library, "convolution" here is a cross-correlation: the filter slides
over the input without being flipped. Each ``*_forward`` returns ``(out, cache)``; the matching
``*_backward(dout, cache)`` returns the gradients in parameter order.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .checks import (check_conv_inputs, check_pool_inputs, check_positive_int, check_rank, check_shape,
                     conv_output_size)


def _pad(x, pad):
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x


def _check_dout(dout, shape):
    check_shape("dout", dout, shape, "(N, F, H_out, W_out), the forward output's shape")


def conv_forward_naive(x, w, b, stride=1, pad=0):
    """Convolution with explicit loops over images, filters and output pixels.

    Inputs:
    - x: (N, C, H, W) images
    - w: (F, C, HH, WW) filters
    - b: (F,) biases
    - stride: step S between neighbouring windows, in pixels
    - pad: P rows and columns of zeros added on every side of x

    Returns (out, cache):
    - out: (N, F, H_out, W_out), H_out = (H - HH + 2P)/S + 1, W_out = (W - WW + 2P)/S + 1
    - cache: (x, w, b, stride, pad) for ``conv_backward_naive``
    """
    N, C, H, W, F, HH, WW = check_conv_inputs(x, w, b)
    H_out = conv_output_size(H, HH, stride, pad)
    W_out = conv_output_size(W, WW, stride, pad)
    xp = _pad(x, pad)
    out = np.zeros((N, F, H_out, W_out), dtype=np.result_type(x, w, b))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, stride, pad)


def conv_backward_naive(dout, cache):
    """Backward pass of ``conv_forward_naive``.

    Inputs: dout (N, F, H_out, W_out) upstream gradient; cache from the forward pass.
    Returns (dx, dw, db) with the shapes of x (N, C, H, W), w (F, C, HH, WW), b (F,).
    """
    x, w, b, stride, pad = cache
    N, F, HH, WW = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    H_out = conv_output_size(x.shape[2], HH, stride, pad)
    W_out = conv_output_size(x.shape[3], WW, stride, pad)
    _check_dout(dout, (N, F, H_out, W_out))
    xp = _pad(x, pad)
    dxp = np.zeros_like(xp, dtype=np.result_type(xp, dout))
    dw = np.zeros_like(w, dtype=np.result_type(w, dout))
    db = dout.sum(axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    rows = slice(i * stride, i * stride + HH)
                    cols = slice(j * stride, j * stride + WW)
                    # out[n, f, i, j] = sum(window * w[f]) + b[f]: d/dwindow = w[f], d/dw[f] = window
                    dxp[n, :, rows, cols] += w[f] * dout[n, f, i, j]
                    dw[f] += xp[n, :, rows, cols] * dout[n, f, i, j]
    dx = dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw, db


_check_pool = check_pool_inputs            # the old private name


def max_pool_forward_naive(x, pool_height=2, pool_width=2, stride=2):
    """Max pooling with explicit loops: the largest value of each window, channel by channel.

    Inputs: x (N, C, H, W); a pool_height x pool_width window moved by ``stride`` pixels.
    Returns (out, cache): out (N, C, H_out, W_out) with H_out = (H - pool_height)/stride + 1,
    W_out = (W - pool_width)/stride + 1; cache for ``max_pool_backward_naive``.
    """
    N, C, H_out, W_out = check_pool_inputs(x, pool_height, pool_width, stride)
    out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width]
                    out[n, c, i, j] = np.max(window)
    return out, (x, pool_height, pool_width, stride)


def max_pool_backward_naive(dout, cache):
    """Backward pass of ``max_pool_forward_naive``.

    Each window's gradient goes to its largest entry only (the first one, in row-major order,
    when several tie), since d max / d x_k is 1 for the winner and 0 for the rest.
    Inputs: dout (N, C, H_out, W_out); cache. Returns dx (N, C, H, W).
    """
    x, ph, pw, stride = cache
    N, C, H_out, W_out = check_pool_inputs(x, ph, pw, stride)
    _check_dout(dout, (N, C, H_out, W_out))
    dx = np.zeros_like(x, dtype=np.result_type(x, dout))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    k, l = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + k, j * stride + l] += dout[n, c, i, j]
    return dx


def avg_pool_forward_naive(x, pool_height=2, pool_width=2, stride=2):
    """Average pooling with explicit loops: the mean of each window, channel by channel.

    Inputs and returns as ``max_pool_forward_naive``: out (N, C, H_out, W_out), cache.
    """
    N, C, H_out, W_out = check_pool_inputs(x, pool_height, pool_width, stride)
    out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width]
                    out[n, c, i, j] = np.mean(window)
    return out, (x, pool_height, pool_width, stride)


def avg_pool_backward_naive(dout, cache):
    """Backward pass of ``avg_pool_forward_naive``: every entry of a window receives
    1 / (pool_height * pool_width) of its gradient. Returns dx (N, C, H, W)."""
    x, ph, pw, stride = cache
    N, C, H_out, W_out = check_pool_inputs(x, ph, pw, stride)
    _check_dout(dout, (N, C, H_out, W_out))
    dx = np.zeros_like(x, dtype=np.result_type(x, dout))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    # out = mean(window): each of the ph * pw entries has local derivative 1 / (ph * pw)
                    window = (n, c, slice(i * stride, i * stride + ph), slice(j * stride, j * stride + pw))
                    dx[window] += dout[n, c, i, j] / (ph * pw)
    return dx


def _windows(xp, HH, WW, stride, dilation):
    """View (N, C, H_out, W_out, HH, WW) of the already padded xp: every window, no copy."""
    span_h, span_w = dilation * (HH - 1) + 1, dilation * (WW - 1) + 1
    view = sliding_window_view(xp, (span_h, span_w), axis=(2, 3))
    return view[:, :, ::stride, ::stride, ::dilation, ::dilation]


def _offsets(HH, WW, stride, dilation, H_out, W_out):
    """For each filter tap (k, l): the strided slices of the padded image it touches."""
    for k in range(HH):
        for l in range(WW):
            rows = slice(k * dilation, k * dilation + stride * (H_out - 1) + 1, stride)
            cols = slice(l * dilation, l * dilation + stride * (W_out - 1) + 1, stride)
            yield k, l, rows, cols


def _scatter_taps(tap, shape, dtype, HH, WW, stride, dilation, H_out, W_out):
    """Adjoint of reading windows: add tap(k, l), the (..., H_out, W_out) share of filter tap
    (k, l) in every window, back where that tap was read from in a zero array of ``shape``
    (the padded image, spatial axes last). Calls tap in row-major order of (k, l) and loops
    over the HH * WW taps, never over pixels. Returns the array of ``shape``."""
    acc = np.zeros(shape, dtype=dtype)
    for k, l, rows, cols in _offsets(HH, WW, stride, dilation, H_out, W_out):
        acc[..., rows, cols] += tap(k, l)
    return acc


def _reduce_taps(ufunc, x, ph, pw, stride, H_out, W_out, dtype):
    """Combine the ph * pw taps of every pooling window with a binary ufunc (maximum, add),
    one whole-array operation per tap. Returns (N, C, H_out, W_out) of dtype."""
    out = None
    for _, _, rows, cols in _offsets(ph, pw, stride, 1, H_out, W_out):
        if out is None:
            out = x[:, :, rows, cols].astype(dtype)
        else:
            ufunc(out, x[:, :, rows, cols], out=out)
    return out


def im2col(x, HH, WW, stride=1, pad=0, dilation=1):
    """Unroll every filter-sized window of every image into a column ("image to columns").

    Inputs: x (N, C, H, W); window HH x WW; stride, pad, dilation as in ``conv_forward_fast``.
    Returns cols (C * HH * WW, N * H_out * W_out): column (n, i, j) holds the window under output
    pixel (i, j) of image n, so a convolution becomes one matrix product ``w.reshape(F, -1) @ cols``.
    """
    check_rank("x", x, 4, "(N, C, H, W)")
    N, C, H, W = x.shape
    conv_output_size(H, HH, stride, pad, dilation)            # raise early if the sizes do not divide
    conv_output_size(W, WW, stride, pad, dilation)
    win = _windows(_pad(x, pad), HH, WW, stride, dilation)   # (N, C, H_out, W_out, HH, WW) view
    return win.transpose(1, 4, 5, 0, 2, 3).reshape(C * HH * WW, -1)


def col2im(cols, x_shape, HH, WW, stride=1, pad=0, dilation=1):
    """Adjoint of ``im2col``: add every column back onto the window it came from.

    Inputs: cols (C * HH * WW, N * H_out * W_out); x_shape (N, C, H, W) and the window settings
    given to ``im2col``. Returns dx (N, C, H, W); a pixel shared by overlapping windows receives
    the sum of their contributions.
    """
    N, C, H, W = x_shape
    H_out = conv_output_size(H, HH, stride, pad, dilation)
    W_out = conv_output_size(W, WW, stride, pad, dilation)
    check_shape("cols", cols, (C * HH * WW, N * H_out * W_out), "(C * HH * WW, N * H_out * W_out)")
    cols = cols.reshape(C, HH, WW, N, H_out, W_out)
    # accumulate channel-major, like cols, and hand back an (N, C, H, W) view of the result
    dxp = _scatter_taps(lambda k, l: cols[:, k, l], (C, N, H + 2 * pad, W + 2 * pad), cols.dtype,
                        HH, WW, stride, dilation, H_out, W_out)
    return dxp[:, :, pad:pad + H, pad:pad + W].transpose(1, 0, 2, 3)


def conv_forward_fast(x, w, b, stride=1, pad=0, dilation=1):
    """Convolution as one matrix product over im2col columns.

    Inputs as ``conv_forward_naive``, plus ``dilation`` d: the filter taps sit d pixels apart,
    so an HH x WW filter covers d * (HH - 1) + 1 rows and d * (WW - 1) + 1 columns.
    Returns (out, cache): out (N, F, H_out, W_out), H_out = (H - (d*(HH-1)+1) + 2P)/S + 1, a
    transposed view of the (F, N * H_out * W_out) product rather than a copy.
    """
    N, C, H, W, F, HH, WW = check_conv_inputs(x, w, b)
    H_out = conv_output_size(H, HH, stride, pad, dilation)
    W_out = conv_output_size(W, WW, stride, pad, dilation)
    cols = im2col(x, HH, WW, stride, pad, dilation)          # (C*HH*WW, N*H_out*W_out)
    out = w.reshape(F, -1) @ cols                            # (F, N*H_out*W_out)
    out += b[:, None]
    return out.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3), (x.shape, w, cols, stride, pad, dilation)


def conv_backward_fast(dout, cache):
    """Backward pass of ``conv_forward_fast``: two matrix products and a col2im.

    Inputs: dout (N, F, H_out, W_out); cache. Returns (dx, dw, db) shaped like x, w, b
    (dx, like out, a transposed view).
    """
    x_shape, w, cols, stride, pad, dilation = cache
    F, C, HH, WW = w.shape
    N = x_shape[0]
    H_out = conv_output_size(x_shape[2], HH, stride, pad, dilation)
    W_out = conv_output_size(x_shape[3], WW, stride, pad, dilation)
    _check_dout(dout, (N, F, H_out, W_out))
    dout = dout.transpose(1, 0, 2, 3).reshape(F, -1)         # (F, N*H_out*W_out)
    db = dout.sum(axis=1)
    # out = w @ cols + b: d/dw = cols^T, d/dcols = w^T
    dw = (dout @ cols.T).reshape(w.shape)
    dcols = w.reshape(F, -1).T @ dout
    dx = col2im(dcols, x_shape, HH, WW, stride, pad, dilation)
    return dx, dw, db


def max_pool_forward_fast(x, pool_height=2, pool_width=2, stride=2):
    """Max pooling as a running maximum over the pool_height * pool_width window taps, each a
    strided view of x; same contract as ``max_pool_forward_naive``."""
    N, C, H_out, W_out = check_pool_inputs(x, pool_height, pool_width, stride)
    out = _reduce_taps(np.maximum, x, pool_height, pool_width, stride, H_out, W_out, x.dtype)
    return out, (x, out, pool_height, pool_width, stride)


def max_pool_backward_fast(dout, cache):
    """Backward pass of ``max_pool_forward_fast``; returns dx (N, C, H, W)."""
    x, out, ph, pw, stride = cache
    _check_dout(dout, out.shape)
    taps = [x[:, :, rows, cols] for _, _, rows, cols in _offsets(ph, pw, stride, 1, *out.shape[2:])]
    taken = np.zeros(out.shape, dtype=bool)

    def share(k, l):
        # taps come in row-major order: the first entry equal to the window's max takes dout
        hit = (taps[k * pw + l] == out) & ~taken
        np.logical_or(taken, hit, out=taken)
        return dout * hit

    return _scatter_taps(share, x.shape, dout.dtype, ph, pw, stride, 1, *out.shape[2:])


def avg_pool_forward_fast(x, pool_height=2, pool_width=2, stride=2):
    """Average pooling as a running sum over the window taps; same contract as
    ``avg_pool_forward_naive``."""
    N, C, H_out, W_out = check_pool_inputs(x, pool_height, pool_width, stride)
    out = _reduce_taps(np.add, x, pool_height, pool_width, stride, H_out, W_out, np.result_type(x, np.float32))
    out /= pool_height * pool_width
    return out, (x.shape, pool_height, pool_width, stride)


def avg_pool_backward_fast(dout, cache):
    """Backward pass of ``avg_pool_forward_fast``; returns dx (N, C, H, W)."""
    x_shape, ph, pw, stride = cache
    N, C, H, W = x_shape
    H_out, W_out = conv_output_size(H, ph, stride), conv_output_size(W, pw, stride)
    _check_dout(dout, (N, C, H_out, W_out))
    share = dout / (ph * pw)
    return _scatter_taps(lambda k, l: share, x_shape, share.dtype, ph, pw, stride, 1, H_out, W_out)


def conv_transpose_forward(x, w, b, stride=1, pad=0):
    """Transposed convolution (learnable upsampling): the adjoint of a convolution.

    Each input pixel x[n, c, i, j] paints the filter w[c] scaled by its value onto the output,
    at offset (i * S - P, j * S - P); overlapping strokes add up. In matrix form this is
    col2im(w^T @ x), the reverse of the convolution's w @ im2col(x).

    Inputs:
    - x: (N, C, H, W) inputs
    - w: (C, F, HH, WW) filters, from C input to F output channels (torch's layout)
    - b: (F,) biases
    - stride S, pad P: as in the convolution this layer reverses (P is cropped off the output)

    Returns (out, cache): out (N, F, H_out, W_out) with H_out = (H - 1) * S - 2P + HH and
    W_out = (W - 1) * S - 2P + WW.
    """
    N, C, H, W, F, HH, WW = check_conv_inputs(x, w, b, channel_axis=0)
    stride = check_positive_int("stride", stride)
    pad = check_positive_int("pad", pad, minimum=0)
    H_out, W_out = (H - 1) * stride - 2 * pad + HH, (W - 1) * stride - 2 * pad + WW
    if H_out < 1 or W_out < 1:
        raise ValueError(f"output size (H - 1)*S - 2P + HH = ({H} - 1)*{stride} - 2*{pad} + {HH} = {H_out} "
                         f"and (W - 1)*S - 2P + WW = {W_out} must both be at least 1")
    x_rows = x.transpose(1, 0, 2, 3).reshape(C, -1)                   # (C, N*H*W)
    strokes = w.reshape(C, -1).T @ x_rows                              # (F*HH*WW, N*H*W)
    out = col2im(strokes, (N, F, H_out, W_out), HH, WW, stride, pad)
    return out + b[:, None, None], (x, w, stride, pad)


def conv_transpose_backward(dout, cache):
    """Backward pass of ``conv_transpose_forward``.

    Inputs: dout (N, F, H_out, W_out); cache. Returns (dx, dw, db) shaped like x (N, C, H, W),
    w (C, F, HH, WW) and b (F,). The gradient for x is an ordinary convolution of dout with w.
    """
    x, w, stride, pad = cache
    N, C, H, W = x.shape
    F, HH, WW = w.shape[1:]
    _check_dout(dout, (N, F, (H - 1) * stride - 2 * pad + HH, (W - 1) * stride - 2 * pad + WW))
    dstrokes = im2col(dout, HH, WW, stride, pad)                      # (F*HH*WW, N*H*W)
    dx = (w.reshape(C, -1) @ dstrokes).reshape(C, N, H, W).transpose(1, 0, 2, 3)
    dw = (x.transpose(1, 0, 2, 3).reshape(C, -1) @ dstrokes.T).reshape(w.shape)
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db
