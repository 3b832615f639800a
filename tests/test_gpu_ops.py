"""mlcourse.gpu: hand-written backward passes on torch tensors, checked against torch.autograd on
the same float64 inputs, against the NumPy reference mlcourse.scratch, and on CUDA when present.
The per-operation contract shared with the NumPy reference (values, gradients, shapes, shape
errors on every back end) is tests/test_backends.py; this file keeps what is gpu's own: random
stride/pad/dilation and pooling settings, batch-norm modes and running averages, dropout's masks,
float32, ties, and gpu's error messages."""
import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch.nn import functional

import mlcourse.gpu as gpu
import mlcourse.scratch as scratch
from mlcourse.gradcheck import rel_error

CUDA = pytest.mark.skipif(not torch.cuda.is_available(),
                          reason="CUDA is not available on this machine; the GPU run of this test is skipped")
DEVICES = ["cpu", pytest.param("cuda", marks=[CUDA, pytest.mark.gpu])]
TOL = 1e-9
FEW = settings(max_examples=25, deadline=None)


def randn(*shape, device="cpu", seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=torch.float64).to(device)


def labels(n, num_classes, device="cpu", seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(num_classes, (n,), generator=gen).to(device)


def err(a, b):
    return rel_error(np.asarray(torch.as_tensor(a).cpu()), np.asarray(torch.as_tensor(b).cpu()))


def as_tuple(grads):
    return grads if isinstance(grads, tuple) else (grads,)


def check_autograd(forward, backward, reference, inputs, device="cpu", **hyper):
    """Our forward and backward against autograd through ``reference`` on the same inputs."""
    out, cache = forward(*inputs, **hyper)
    leaves = [t.detach().clone().requires_grad_() for t in inputs]
    expected = reference(*leaves, **hyper)
    assert out.device == inputs[0].device and out.dtype == inputs[0].dtype
    assert err(out, expected.detach()) < TOL
    dout = randn(*out.shape, device=device, seed=99)
    grads = as_tuple(backward(dout, cache))
    expected_grads = torch.autograd.grad(expected, leaves, dout)
    assert len(grads) == len(expected_grads)
    for got, want in zip(grads, expected_grads):
        assert got.shape == want.shape and got.device == want.device
        assert err(got, want) < TOL


def torch_conv(x, w, b, stride=1, pad=0, dilation=1):
    return functional.conv2d(x, w, b, stride=stride, padding=pad, dilation=dilation)


def torch_max_pool(x, pool_height=2, pool_width=2, stride=2):
    return functional.max_pool2d(x, (pool_height, pool_width), stride)


def torch_avg_pool(x, pool_height=2, pool_width=2, stride=2):
    return functional.avg_pool2d(x, (pool_height, pool_width), stride)


@pytest.mark.parametrize("device", DEVICES)
def test_batchnorm_train_matches_autograd_and_updates_running_averages(device):
    x = 3 + 2 * randn(8, 5, device=device)
    gamma, beta = randn(5, device=device, seed=1), randn(5, device=device, seed=2)
    bn_param = {"mode": "train", "momentum": 0.9}
    check_autograd(lambda x, g, b: gpu.batchnorm_forward(x, g, b, bn_param), gpu.batchnorm_backward,
                   lambda x, g, b: functional.batch_norm(x, None, None, g, b, training=True, eps=1e-5),
                   [x, gamma, beta], device)
    assert err(bn_param["running_mean"], 0.1 * x.mean(dim=0)) < TOL
    assert err(bn_param["running_var"], 0.9 + 0.1 * x.var(dim=0, unbiased=False)) < TOL


@pytest.mark.parametrize("device", DEVICES)
def test_batchnorm_test_mode_uses_running_averages(device):
    x = randn(6, 4, device=device)
    mean, var = randn(4, device=device, seed=3), 1 + randn(4, device=device, seed=4) ** 2
    gamma, beta = randn(4, device=device, seed=1), randn(4, device=device, seed=2)
    bn_param = {"mode": "test", "running_mean": mean, "running_var": var}
    check_autograd(lambda x, g, b: gpu.batchnorm_forward(x, g, b, bn_param), gpu.batchnorm_backward,
                   lambda x, g, b: functional.batch_norm(x, mean, var, g, b, training=False, eps=1e-5),
                   [x, gamma, beta], device)
    assert bn_param["running_mean"] is mean          # test mode leaves the averages alone


@st.composite
def conv_settings(draw):
    N, C, F = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    HH, WW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride, pad, dilation = draw(st.integers(1, 3)), draw(st.integers(0, 2)), draw(st.integers(1, 3))
    H_out, W_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    H = (H_out - 1) * stride + dilation * (HH - 1) + 1 - 2 * pad
    W = (W_out - 1) * stride + dilation * (WW - 1) + 1 - 2 * pad
    assume(H >= 1 and W >= 1)
    return (N, C, H, W), (F, C, HH, WW), dict(stride=stride, pad=pad, dilation=dilation)


@FEW
@given(conv_settings(), st.integers(0, 2**16))
def test_conv_matches_autograd_with_stride_pad_dilation(case, seed):
    x_shape, w_shape, hyper = case
    x, w, b = randn(*x_shape, seed=seed), randn(*w_shape, seed=seed + 1), randn(w_shape[0], seed=seed + 2)
    check_autograd(gpu.conv_forward_fast, gpu.conv_backward_fast, torch_conv, [x, w, b], **hyper)


@st.composite
def pool_settings(draw):
    ph, pw, stride = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    H = (draw(st.integers(1, 4)) - 1) * stride + ph
    W = (draw(st.integers(1, 4)) - 1) * stride + pw
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), H, W)
    return shape, dict(pool_height=ph, pool_width=pw, stride=stride)


@FEW
@given(pool_settings(), st.integers(0, 2**16), st.sampled_from(["max", "avg"]))
def test_pooling_matches_autograd(case, seed, kind):
    shape, hyper = case
    forward, backward, reference = {
        "max": (gpu.max_pool_forward_fast, gpu.max_pool_backward_fast, torch_max_pool),
        "avg": (gpu.avg_pool_forward_fast, gpu.avg_pool_backward_fast, torch_avg_pool)}[kind]
    check_autograd(forward, backward, reference, [randn(*shape, seed=seed)], **hyper)


def test_softmax_loss_is_stable_for_huge_scores():
    scores = torch.tensor([[1000.0, 0.0, -1000.0]], dtype=torch.float64)
    loss, dscores = gpu.softmax_loss(scores, torch.tensor([0]))
    assert loss == pytest.approx(0.0) and torch.isfinite(dscores).all()


@pytest.mark.parametrize("device", DEVICES)
def test_dropout_keeps_a_fraction_p_scaled_by_one_over_p(device):
    x, p = 1 + randn(100, 100, device=device).abs(), 0.7
    out, cache = gpu.dropout_forward(x, p, "train", seed=3)
    kept = out != 0
    assert abs(kept.double().mean().item() - p) < 0.02
    assert err(out[kept], x[kept] / p) < TOL
    dout = randn(100, 100, device=device, seed=5)
    assert err(gpu.dropout_backward(dout, cache), dout * kept / p) < TOL
    again, _ = gpu.dropout_forward(x, p, "train", seed=3)
    other, _ = gpu.dropout_forward(x, p, "train", seed=4)
    assert torch.equal(out, again) and not torch.equal(out, other)
    out, cache = gpu.dropout_forward(x, p, "test")
    assert out is x and gpu.dropout_backward(dout, cache) is dout


def test_float32_stays_float32():
    x = torch.randn(2, 3, 6, 6)
    out, cache = gpu.conv_forward_fast(x, torch.randn(2, 3, 3, 3), torch.zeros(2), pad=1)
    dx, dw, db = gpu.conv_backward_fast(torch.ones_like(out), cache)
    assert {t.dtype for t in (out, dx, dw, db)} == {torch.float32}


@pytest.mark.parametrize("call, message", [
    (lambda: gpu.conv_forward_fast(randn(1, 3, 5, 5), randn(2, 4, 3, 3), randn(2)), "C = 3"),
    (lambda: gpu.conv_forward_fast(randn(1, 3, 6, 6), randn(2, 3, 3, 3), randn(2), stride=2),
     r"\(W - F \+ 2P\)/S \+ 1"),
    (lambda: gpu.conv_forward_fast(randn(1, 3, 5, 5), randn(2, 3, 3, 3), randn(3)), r"\(F,\)"),
    (lambda: gpu.max_pool_forward_fast(randn(2, 5, 5)), r"\(N, C, H, W\)"),
    (lambda: gpu.softmax_loss(randn(3, 4), torch.tensor([0, 4, 1])), r"\[0, 4\)"),
    (lambda: gpu.svm_loss(randn(3, 4), torch.tensor([0.0, 1.0, 2.0])), "integer"),
    (lambda: gpu.affine_forward(randn(2, 5), randn(6, 3), randn(3)), "D = 6"),
    (lambda: gpu.affine_forward(randn(6), randn(1, 3), randn(3)), r"\(N, d1, ..., dk\)"),
    (lambda: gpu.max_pool_forward_fast(randn(1, 1, 4, 4), pool_height=0), "pool_height"),
    (lambda: gpu.softmax_loss_vectorized(randn(5, 3), randn(4, 6), labels(4, 3), 0.0), "D = 6"),
    (lambda: gpu.dropout_forward(randn(3), 0.0, "train"), "keep probability"),
    (lambda: gpu.dropout_forward(randn(3), 0.5, "eval"), "'train' or 'test'"),
    (lambda: gpu.batchnorm_forward(randn(4, 3), randn(3), randn(2), {"mode": "train"}), "beta"),
    (lambda: gpu.batchnorm_forward(randn(4, 3), randn(3), randn(3), {}), r"bn_param\['mode'\]"),
])
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("forward, backward, args, bad_dout", [
    (gpu.conv_forward_fast, gpu.conv_backward_fast,
     (randn(2, 3, 5, 5), randn(4, 3, 3, 3), randn(4)), randn(2, 4, 5, 5)),
    (gpu.affine_forward, gpu.affine_backward, (randn(2, 3), randn(3, 4), randn(4)), randn(2, 3)),
    (lambda *a: gpu.batchnorm_forward(*a, {"mode": "train"}), gpu.batchnorm_backward,
     (randn(4, 3), randn(3), randn(3)), randn(3, 4)),
    (lambda *a: gpu.spatial_batchnorm_forward(*a, {"mode": "train"}), gpu.spatial_batchnorm_backward,
     (randn(2, 3, 4, 4), randn(3), randn(3)), randn(2, 4, 4, 3)),
])
def test_backward_checks_the_upstream_gradient_shape(forward, backward, args, bad_dout):
    _, cache = forward(*args)
    with pytest.raises(ValueError, match="dout must have shape"):
        backward(bad_dout, cache)


def test_numpy_input_raises_type_error_with_the_fix():
    with pytest.raises(TypeError, match="torch.as_tensor"):
        gpu.softmax_loss(np.zeros((2, 3)), torch.tensor([0, 1]))


# ---------------------------------------------------------------- against mlcourse.scratch

def reference(name):
    return getattr(scratch, name)


def numpy_args(args):
    return [a.numpy() if isinstance(a, torch.Tensor) else a for a in args]


def check_scratch(name, backward_name, args, **hyper):
    """Forward and backward of mlcourse.gpu.<name> against mlcourse.scratch.<name>, float64."""
    forward, backward = reference(name), reference(backward_name)
    ours, our_cache = getattr(gpu, name)(*args, **hyper)
    theirs, their_cache = forward(*numpy_args(args), **hyper)
    assert err(ours, theirs) < TOL
    dout = randn(*ours.shape, seed=42)
    grads = as_tuple(getattr(gpu, backward_name)(dout, our_cache))
    expected = as_tuple(backward(dout.numpy(), their_cache))
    assert len(grads) == len(expected)
    for got, want in zip(grads, expected):
        assert err(got, want) < TOL


@FEW
@given(conv_settings(), st.integers(0, 2**16))
def test_conv_matches_scratch_fast(case, seed):
    x_shape, w_shape, hyper = case
    args = [randn(*x_shape, seed=seed), randn(*w_shape, seed=seed + 1), randn(w_shape[0], seed=seed + 2)]
    check_scratch("conv_forward_fast", "conv_backward_fast", args, **hyper)


def test_conv_matches_scratch_naive():
    args = [randn(2, 3, 7, 7), randn(4, 3, 3, 3, seed=1), randn(4, seed=2)]
    ours, _ = gpu.conv_forward_fast(*args, stride=2, pad=1)
    theirs, _ = reference("conv_forward_naive")(*numpy_args(args), stride=2, pad=1)
    assert err(ours, theirs) < TOL


@FEW
@given(pool_settings(), st.integers(0, 2**16), st.sampled_from(["max", "avg"]))
def test_pooling_matches_scratch_fast(case, seed, kind):
    shape, hyper = case
    check_scratch(f"{kind}_pool_forward_fast", f"{kind}_pool_backward_fast", [randn(*shape, seed=seed)], **hyper)


def test_max_pool_gives_ties_to_the_first_maximum_like_scratch():
    x = torch.zeros(1, 1, 4, 4, dtype=torch.float64)
    check_scratch("max_pool_forward_fast", "max_pool_backward_fast", [x])


@pytest.mark.parametrize("name", ["batchnorm", "spatial_batchnorm"])
def test_batchnorm_matches_scratch_including_running_averages(name):
    shape = (6, 4) if name == "batchnorm" else (3, 4, 2, 5)
    x, gamma, beta = 2 + randn(*shape), randn(4, seed=1), randn(4, seed=2)
    ours_param, their_param = {"mode": "train", "momentum": 0.8}, {"mode": "train", "momentum": 0.8}
    forward, backward = reference(f"{name}_forward"), reference(f"{name}_backward")
    ours, our_cache = getattr(gpu, f"{name}_forward")(x, gamma, beta, ours_param)
    theirs, their_cache = forward(x.numpy(), gamma.numpy(), beta.numpy(), their_param)
    assert err(ours, theirs) < TOL
    dout = randn(*shape, seed=42)
    grads, expected = getattr(gpu, f"{name}_backward")(dout, our_cache), backward(dout.numpy(), their_cache)
    assert len(grads) == len(expected) == 3
    for got, want in zip(grads, expected):
        assert err(got, want) < TOL
    for key in ("running_mean", "running_var"):
        assert err(ours_param[key], their_param[key]) < TOL
    ours_param["mode"] = their_param["mode"] = "test"
    ours, _ = getattr(gpu, f"{name}_forward")(x, gamma, beta, ours_param)
    theirs, _ = forward(x.numpy(), gamma.numpy(), beta.numpy(), their_param)
    assert err(ours, theirs) < TOL


def test_dropout_matches_scratch_when_nothing_is_dropped():
    check_scratch("dropout_forward", "dropout_backward", [randn(5, 6), 1.0, "train"])
    check_scratch("dropout_forward", "dropout_backward", [randn(5, 6), 0.3, "test"])
