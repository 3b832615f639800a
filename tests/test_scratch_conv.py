"""mlcourse.scratch, chapter 5: convolution, pooling and transposed convolution. The naive loops
and the im2col twins agree on hypothesis-drawn shapes, strides and paddings; both agree with
central differences and with torch.autograd in float64; sizes that do not divide are refused."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcourse.gradcheck import rel_error
from mlcourse.scratch import (
    avg_pool_backward_fast,
    avg_pool_backward_naive,
    avg_pool_forward_fast,
    avg_pool_forward_naive,
    col2im,
    conv_backward_fast,
    conv_backward_naive,
    conv_forward_fast,
    conv_forward_naive,
    conv_output_size,
    conv_transpose_backward,
    conv_transpose_forward,
    im2col,
    max_pool_backward_fast,
    max_pool_backward_naive,
    max_pool_forward_fast,
    max_pool_forward_naive,
)
from tests.grads import numeric_grads, torch_grads

FAMILY = settings(max_examples=25, deadline=None, derandomize=True)
CONVS = [(conv_forward_naive, conv_backward_naive), (conv_forward_fast, conv_backward_fast)]
POOLS = {
    "max": [(max_pool_forward_naive, max_pool_backward_naive), (max_pool_forward_fast, max_pool_backward_fast)],
    "avg": [(avg_pool_forward_naive, avg_pool_backward_naive), (avg_pool_forward_fast, avg_pool_backward_fast)],
}
TORCH_POOLS = {"max": F.max_pool2d, "avg": F.avg_pool2d}


@st.composite
def conv_case(draw, max_dilation=1):
    """A convolution whose output size divides: x, w, b, stride, pad, dilation and a seeded rng."""
    N, C, F_ = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    HH, WW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride, pad, dilation = draw(st.integers(1, 3)), draw(st.integers(0, 2)), draw(st.integers(1, max_dilation))
    # choose the output size, then the input size that gives it exactly
    H_out, W_out = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    H = (H_out - 1) * stride + dilation * (HH - 1) + 1 - 2 * pad
    W = (W_out - 1) * stride + dilation * (WW - 1) + 1 - 2 * pad
    if H < 1 or W < 1:                      # the padding alone would cover the field: drop it
        H, W, pad = H + 2 * pad, W + 2 * pad, 0
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    x, w, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((F_, C, HH, WW)), rng.standard_normal(F_)
    return x, w, b, stride, pad, dilation, rng


@st.composite
def pool_case(draw, ties=False):
    N, C = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw, stride = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    H_out, W_out = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    shape = (N, C, (H_out - 1) * stride + ph, (W_out - 1) * stride + pw)
    # small integers make ties, where the gradient must go to the first maximum
    x = rng.integers(0, 3, shape).astype(float) if ties else rng.standard_normal(shape)
    return x, ph, pw, stride, rng


def test_seed_example():
    x = np.array([[[[1, 0, 1], [0, 1, 0], [1, 0, 1]]]], dtype=float)
    w = np.array([[[[1, 0], [0, -1]]]], dtype=float)
    for forward, _ in CONVS:
        out, _ = forward(x, w, np.zeros(1))
        np.testing.assert_array_equal(out, np.zeros((1, 1, 2, 2)))
    # zero padding keeps more of the picture: (3 - 2 + 2*1)/1 + 1 = 4
    out, _ = conv_forward_fast(x, w, np.zeros(1), pad=1)
    np.testing.assert_array_equal(out[0, 0], [[-1, 0, -1, 0], [0, 0, 0, 1], [-1, 0, 0, 0], [0, 1, 0, 1]])


def test_output_size_formula():
    assert conv_output_size(32, 3, stride=1, pad=1) == 32
    assert conv_output_size(31, 3, stride=2, pad=1) == 16
    assert conv_output_size(7, 3, stride=1, pad=0, dilation=2) == 3
    with pytest.raises(ValueError, match=r"\(W - F \+ 2P\)/S \+ 1 = \(8 - 3 \+ 2\*0\)/2 \+ 1 = 3.5"):
        conv_output_size(8, 3, stride=2)
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv_output_size(2, 5)
    for bad in [dict(stride=0), dict(pad=-1), dict(stride=1.5)]:
        with pytest.raises(ValueError, match="must be an integer"):
            conv_output_size(8, 3, **bad)


@pytest.mark.parametrize("forward, w_other_channels", [
    (conv_forward_naive, np.zeros((3, 2, 3, 3))),            # w (F, C, HH, WW) with C = 2
    (conv_forward_fast, np.zeros((3, 2, 3, 3))),
    (conv_transpose_forward, np.zeros((2, 3, 3, 3))),        # w (C, F, HH, WW) with C = 2
], ids=["naive", "fast", "transpose"])
def test_conv_bad_shapes_raise(forward, w_other_channels):
    x = np.zeros((2, 3, 8, 8))
    w = np.zeros((3, 3, 3, 3))
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\) \(4 dimensions\), got shape \(3, 8, 8\)"):
        forward(x[0], w, np.zeros(3))
    with pytest.raises(ValueError, match=r"with C = 3 \(x's channels\), got w of shape \((3, 2|2, 3), 3, 3\)"):
        forward(x, w_other_channels, np.zeros(3))
    with pytest.raises(ValueError, match=r"b must have shape \(F,\) = \(3,\), got shape \(4,\)"):
        forward(x, w, np.zeros(4))


@pytest.mark.parametrize("forward", [conv_forward_naive, conv_forward_fast], ids=lambda f: f.__name__)
def test_conv_refuses_sizes_that_do_not_divide(forward):
    with pytest.raises(ValueError, match=r"\(W - F \+ 2P\)/S \+ 1"):
        forward(np.zeros((1, 1, 8, 8)), np.zeros((1, 1, 3, 3)), np.zeros(1), stride=2)


@pytest.mark.parametrize("backward, forward", [(conv_backward_naive, conv_forward_naive),
                                               (conv_backward_fast, conv_forward_fast)])
def test_conv_backward_rejects_wrong_dout(backward, forward):
    out, cache = forward(np.zeros((2, 1, 5, 5)), np.zeros((3, 1, 3, 3)), np.zeros(3))
    with pytest.raises(ValueError, match=r"dout must have shape .* = \(2, 3, 3, 3\), got shape \(2, 3, 4, 3\)"):
        backward(np.zeros((2, 3, 4, 3)), cache)


@FAMILY
@given(conv_case())
def test_conv_naive_equals_fast(case):
    x, w, b, stride, pad, _, rng = case
    (out_n, cache_n), (out_f, cache_f) = (f(x, w, b, stride, pad) for f, _ in CONVS)
    assert out_n.shape == out_f.shape == (x.shape[0], w.shape[0],
                                          conv_output_size(x.shape[2], w.shape[2], stride, pad),
                                          conv_output_size(x.shape[3], w.shape[3], stride, pad))
    assert rel_error(out_n, out_f) < 1e-9
    dout = rng.standard_normal(out_n.shape)
    for g_n, g_f, a in zip(conv_backward_naive(dout, cache_n), conv_backward_fast(dout, cache_f), (x, w, b)):
        assert g_n.shape == g_f.shape == a.shape
        assert rel_error(g_n, g_f) < 1e-9


@pytest.mark.parametrize("kind", POOLS)
@FAMILY
@given(case=pool_case(ties=True))
def test_pool_naive_equals_fast(kind, case):
    x, ph, pw, stride, rng = case
    (fwd_n, bwd_n), (fwd_f, bwd_f) = POOLS[kind]
    out_n, cache_n = fwd_n(x, ph, pw, stride)
    out_f, cache_f = fwd_f(x, ph, pw, stride)
    assert rel_error(out_n, out_f) < 1e-9
    dout = rng.standard_normal(out_n.shape)
    dx_n, dx_f = bwd_n(dout, cache_n), bwd_f(dout, cache_f)
    assert dx_n.shape == dx_f.shape == x.shape
    assert rel_error(dx_n, dx_f) < 1e-9


@pytest.mark.parametrize("kind", POOLS)
@FAMILY
@given(case=pool_case(ties=True))
def test_pool_matches_torch_even_on_ties(kind, case):
    x, ph, pw, stride, rng = case
    forward, backward = POOLS[kind][1]
    out, cache = forward(x, ph, pw, stride)
    dout = rng.standard_normal(out.shape)
    out_t, (dx_t,) = torch_grads(lambda a: TORCH_POOLS[kind](a, (ph, pw), stride), [x], dout)
    assert rel_error(out, out_t) < 1e-12
    assert rel_error(backward(dout, cache), dx_t) < 1e-12


@pytest.mark.parametrize("kind", POOLS)
def test_pool_gradients_match_numerical(kind):
    rng = np.random.default_rng(0)
    x = rng.permutation(2 * 2 * 6 * 6).reshape(2, 2, 6, 6) / 100  # distinct values: no ties
    for forward, backward in POOLS[kind]:
        out, cache = forward(x, 3, 2, 1)
        dout = rng.standard_normal(out.shape)
        expected = numeric_grads(lambda a: forward(a, 3, 2, 1)[0], [x], dout)[0]
        assert rel_error(backward(dout, cache), expected) < 1e-7


def test_pool_errors():
    with pytest.raises(ValueError, match=r"\(W - F \+ 2P\)/S \+ 1 = \(7 - 2 \+ 2\*0\)/2 \+ 1"):
        max_pool_forward_fast(np.zeros((1, 1, 6, 7)))
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\)"):
        avg_pool_forward_naive(np.zeros((6, 6)))
    with pytest.raises(ValueError, match="pool_height must be an integer >= 1"):
        max_pool_forward_naive(np.zeros((1, 1, 4, 4)), pool_height=0)


@pytest.mark.parametrize("forward, backward", CONVS, ids=["naive", "fast"])
def test_conv_gradients_match_numerical(forward, backward):
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2)
    out, cache = forward(x, w, b, 2, 1)
    dout = rng.standard_normal(out.shape)
    for g, e in zip(backward(dout, cache), numeric_grads(lambda *a: forward(*a, 2, 1)[0], [x, w, b], dout)):
        assert rel_error(g, e) < 1e-7


@pytest.mark.parametrize("stride, pad, dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2), (2, 3, 3), (3, 1, 2)])
def test_fast_conv_matches_torch(stride, pad, dilation):
    rng = np.random.default_rng(stride * 10 + pad + 100 * dilation)
    span = dilation * (3 - 1) + 1
    H, W = 2 * stride + span - 2 * pad, 3 * stride + span - 2 * pad    # H_out = 3, W_out = 4
    x, w, b = rng.standard_normal((2, 3, H, W)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    out, cache = conv_forward_fast(x, w, b, stride, pad, dilation)
    dout = rng.standard_normal(out.shape)
    out_t, grads_t = torch_grads(lambda a, k, c: F.conv2d(a, k, c, stride=stride, padding=pad, dilation=dilation),
                                 [x, w, b], dout)
    assert out.shape == out_t.shape == (2, 4, 3, 4) and rel_error(out, out_t) < 1e-12
    for g, t in zip(conv_backward_fast(dout, cache), grads_t):
        assert rel_error(g, t) < 1e-10


def test_dilated_conv_gradient_matches_numerical():
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((1, 2, 7, 6)), rng.standard_normal((2, 2, 2, 3)), rng.standard_normal(2)
    out, cache = conv_forward_fast(x, w, b, 1, 1, 2)
    assert out.shape == (1, 2, 7, 4)        # (7 - (2*(2-1)+1) + 2)/1 + 1 and (6 - 5 + 2)/1 + 1
    dout = rng.standard_normal(out.shape)
    expected = numeric_grads(lambda *a: conv_forward_fast(*a, 1, 1, 2)[0], [x, w, b], dout)
    for g, e in zip(conv_backward_fast(dout, cache), expected):
        assert rel_error(g, e) < 1e-7


@pytest.mark.parametrize("stride, pad, k", [(1, 0, 3), (2, 0, 2), (2, 1, 4), (3, 2, 5), (2, 1, 3)])
def test_conv_transpose_matches_torch(stride, pad, k):
    rng = np.random.default_rng(3 + stride + pad + k)
    x, w, b = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((3, 2, k, k + 1)), rng.standard_normal(2)
    out, cache = conv_transpose_forward(x, w, b, stride, pad)
    assert out.shape == (2, 2, (4 - 1) * stride - 2 * pad + k, (5 - 1) * stride - 2 * pad + k + 1)
    dout = rng.standard_normal(out.shape)
    out_t, grads_t = torch_grads(lambda a, f, c: F.conv_transpose2d(a, f, c, stride=stride, padding=pad),
                                 [x, w, b], dout)
    assert rel_error(out, out_t) < 1e-12
    for g, t in zip(conv_transpose_backward(dout, cache), grads_t):
        assert rel_error(g, t) < 1e-10


def test_conv_transpose_upsamples_and_matches_numerical():
    # a 2x2 kernel of ones with stride 2 copies every pixel into a 2x2 block: nearest upsampling
    x = np.arange(4.0).reshape(1, 1, 2, 2)
    out, _ = conv_transpose_forward(x, np.ones((1, 1, 2, 2)), np.zeros(1), stride=2)
    np.testing.assert_array_equal(out[0, 0], [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((2, 2, 3, 3)), rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(3)
    out, cache = conv_transpose_forward(x, w, b, 2, 1)
    dout = rng.standard_normal(out.shape)
    expected = numeric_grads(lambda *a: conv_transpose_forward(*a, 2, 1)[0], [x, w, b], dout)
    for g, e in zip(conv_transpose_backward(dout, cache), expected):
        assert rel_error(g, e) < 1e-7
    with pytest.raises(ValueError, match="at least 1"):
        conv_transpose_forward(np.zeros((1, 1, 1, 1)), np.zeros((1, 1, 2, 2)), np.zeros(1), pad=1)


@FAMILY
@given(conv_case(max_dilation=3))
def test_col2im_is_the_adjoint_of_im2col(case):
    x, w, b, stride, pad, dilation, rng = case
    HH, WW = w.shape[2:]
    cols = im2col(x, HH, WW, stride, pad, dilation)
    assert cols.shape[0] == x.shape[1] * HH * WW
    c = rng.standard_normal(cols.shape)
    # <im2col(x), c> == <x, col2im(c)> for every x and c
    lhs, rhs = np.sum(cols * c), np.sum(x * col2im(c, x.shape, HH, WW, stride, pad, dilation))
    assert rel_error(lhs, rhs) < 1e-9
    with pytest.raises(ValueError, match="cols must have shape"):
        col2im(c[:, 1:], x.shape, HH, WW, stride, pad, dilation)
