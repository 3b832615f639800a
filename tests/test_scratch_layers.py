"""mlcourse.scratch, chapter 4 and the layers of chapters 5-6: gates, elementwise layers, dropout,
batch/layer normalization, losses on scores and sandwich layers. Every backward pass is checked
against central differences and, where torch has the operation, against torch.autograd."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mlcourse.gradcheck import eval_numerical_gradient, rel_error
from mlcourse.scratch import (
    add_backward,
    add_forward,
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
    leaky_relu_backward,
    leaky_relu_forward,
    max_backward,
    max_forward,
    multiply_backward,
    multiply_forward,
    neuron_example,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    softmax_loss,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
    svm_loss,
    tanh_backward,
    tanh_forward,
    worked_example,
)
from tests.grads import numeric_grads, torch_grads


def away_from_zero(rng, shape, gap=1e-2):
    """Normal samples pushed at least ``gap`` away from 0, the kink of ReLU-like functions."""
    x = rng.standard_normal(shape)
    return x + np.sign(x) * gap


def test_worked_example():
    assert worked_example() == {"q": 3.0, "f": -12.0, "df/dq": -4.0, "df/dx": -4.0, "df/dy": -4.0, "df/dz": 3.0}
    assert worked_example(1.0, 2.0, 5.0)["df/dz"] == 3.0


def test_neuron_example_matches_torch():
    w, x = torch.tensor([2.0, -3.0, -3.0], dtype=torch.float64, requires_grad=True), \
        torch.tensor([-1.0, -2.0], dtype=torch.float64, requires_grad=True)
    f = torch.sigmoid(w[0] * x[0] + w[1] * x[1] + w[2])
    f.backward()
    result = neuron_example()
    assert result["f"] == pytest.approx(f.item(), rel=1e-14)
    assert rel_error(result["df/dw"], w.grad.numpy()) < 1e-12
    assert rel_error(result["df/dx"], x.grad.numpy()) < 1e-12
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        neuron_example(w=(1.0, 2.0))


@pytest.mark.parametrize("forward, backward", [
    (add_forward, add_backward), (multiply_forward, multiply_backward), (max_forward, max_backward)])
def test_gates_on_broadcast_arrays(forward, backward):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((1, 4))
    out, cache = forward(x, y)
    dout = rng.standard_normal(out.shape)
    dx, dy = backward(dout, cache)
    nx, ny = numeric_grads(lambda a, b: forward(a, b)[0], [x, y], dout)
    assert dx.shape == x.shape and dy.shape == y.shape
    assert rel_error(dx, nx) < 1e-7 and rel_error(dy, ny) < 1e-7


def test_gates_on_scalars():
    assert multiply_backward(2.0, multiply_forward(3.0, -4.0)[1]) == (-8.0, 6.0)
    assert add_backward(5.0, add_forward(1.0, 2.0)[1]) == (5.0, 5.0)
    assert max_backward(7.0, max_forward(3.0, -4.0)[1]) == (7.0, 0.0)
    assert max_backward(7.0, max_forward(1.0, 1.0)[1]) == (7.0, 0.0)   # a tie goes to x


def test_affine_known_value_and_gradients():
    x = np.arange(12.0).reshape(2, 3, 2)
    w = np.ones((6, 2))
    w[:, 1] = -1
    out, cache = affine_forward(x, w, np.array([0.5, 0.0]))
    np.testing.assert_array_equal(out, [[15.5, -15.0], [51.5, -51.0]])
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((3, 2, 5)), rng.standard_normal((10, 4)), rng.standard_normal(4)
    dout = rng.standard_normal((3, 4))
    grads = affine_backward(dout, affine_forward(x, w, b)[1])
    expected = numeric_grads(lambda *a: affine_forward(*a)[0], [x, w, b], dout)
    for g, e in zip(grads, expected):
        assert g.shape == e.shape and rel_error(g, e) < 1e-7


def test_affine_bad_shapes_raise():
    with pytest.raises(ValueError, match=r"D = 6 features .* \(6, M\), got w of shape \(5, 2\)"):
        affine_forward(np.zeros((2, 3, 2)), np.zeros((5, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"b must have shape \(M,\) = \(2,\)"):
        affine_forward(np.zeros((2, 6)), np.zeros((6, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="dout must have shape"):
        affine_backward(np.zeros((3, 2)), affine_forward(np.zeros((2, 6)), np.zeros((6, 2)), np.zeros(2))[1])


@pytest.mark.parametrize("forward, backward, reference", [
    (relu_forward, relu_backward, torch.relu),
    (leaky_relu_forward, leaky_relu_backward, lambda t: F.leaky_relu(t, 0.01)),
    (sigmoid_forward, sigmoid_backward, torch.sigmoid),
    (tanh_forward, tanh_backward, torch.tanh),
], ids=["relu", "leaky_relu", "sigmoid", "tanh"])
def test_activations(forward, backward, reference):
    rng = np.random.default_rng(2)
    x = away_from_zero(rng, (4, 5))
    dout = rng.standard_normal(x.shape)
    out, cache = forward(x)
    dx = backward(dout, cache)
    assert rel_error(dx, numeric_grads(lambda a: forward(a)[0], [x], dout)[0]) < 1e-7
    out_t, (dx_t,) = torch_grads(reference, [x], dout)
    assert rel_error(out, out_t) < 1e-12 and rel_error(dx, dx_t) < 1e-12


def test_leaky_relu_slope():
    out, cache = leaky_relu_forward(np.array([-2.0, 3.0]), alpha=0.1)
    np.testing.assert_allclose(out, [-0.2, 3.0])
    np.testing.assert_allclose(leaky_relu_backward(np.ones(2), cache), [0.1, 1.0])


def test_dropout_keeps_the_expectation():
    x = np.ones((500, 400))
    out, cache = dropout_forward(x, 0.3, "train", seed=0)
    kept = out != 0
    assert abs(kept.mean() - 0.3) < 0.01                 # p is the keep probability
    np.testing.assert_allclose(out[kept], 1 / 0.3)        # inverted: kept units are scaled by 1/p
    assert abs(out.mean() - 1.0) < 0.02
    np.testing.assert_array_equal(dropout_backward(x, cache), out)
    np.testing.assert_array_equal(dropout_forward(x, 0.3, "train", seed=0)[0], out)
    test_out, test_cache = dropout_forward(x, 0.3, "test")
    np.testing.assert_array_equal(test_out, x)
    np.testing.assert_array_equal(dropout_backward(x, test_cache), x)


def test_dropout_gradient_and_errors():
    rng = np.random.default_rng(3)
    x, dout = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    dx = dropout_backward(dout, dropout_forward(x, 0.6, "train", seed=5)[1])
    expected = numeric_grads(lambda a: dropout_forward(a, 0.6, "train", seed=5)[0], [x], dout)[0]
    assert rel_error(dx, expected) < 1e-7
    with pytest.raises(ValueError, match="keep probability"):
        dropout_forward(x, 0.0, "train")
    with pytest.raises(ValueError, match="mode"):
        dropout_forward(x, 0.5, "eval")


def test_batchnorm_normalizes_and_matches_torch():
    rng = np.random.default_rng(4)
    x = 3 + 5 * rng.standard_normal((8, 5))
    gamma, beta = rng.standard_normal(5), rng.standard_normal(5)
    dout = rng.standard_normal(x.shape)
    bn_param = {"mode": "train"}
    out, cache = batchnorm_forward(x, np.ones(5), np.zeros(5), bn_param)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1, rtol=1e-5)
    np.testing.assert_allclose(bn_param["running_mean"], 0.1 * x.mean(axis=0))
    np.testing.assert_allclose(bn_param["running_var"], 0.9 + 0.1 * x.var(axis=0))

    out, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    grads = batchnorm_backward(dout, cache)
    out_t, grads_t = torch_grads(lambda a, g, b: F.batch_norm(a, None, None, g, b, training=True, eps=1e-5),
                                 [x, gamma, beta], dout)
    assert rel_error(out, out_t) < 1e-10
    for g, t in zip(grads, grads_t):
        assert rel_error(g, t) < 1e-9
    expected = numeric_grads(lambda *a: batchnorm_forward(*a, {"mode": "train"})[0], [x, gamma, beta], dout)
    for g, e in zip(grads, expected):
        assert rel_error(g, e) < 1e-7


def test_batchnorm_test_mode_uses_running_averages():
    rng = np.random.default_rng(5)
    bn_param = {"mode": "train", "momentum": 0.5}
    for _ in range(30):
        batchnorm_forward(2 + 3 * rng.standard_normal((50, 3)), np.ones(3), np.zeros(3), bn_param)
    np.testing.assert_allclose(bn_param["running_mean"], 2, atol=0.6)
    np.testing.assert_allclose(bn_param["running_var"], 9, rtol=0.4)
    bn_param["mode"] = "test"
    x = rng.standard_normal((4, 3))
    out, cache = batchnorm_forward(x, 2 * np.ones(3), np.ones(3), bn_param)
    expected = 2 * (x - bn_param["running_mean"]) / np.sqrt(bn_param["running_var"] + 1e-5) + 1
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    dout = rng.standard_normal(x.shape)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    numerical = numeric_grads(lambda a: batchnorm_forward(a, 2 * np.ones(3), np.ones(3), bn_param)[0], [x], dout)
    assert rel_error(dx, numerical[0]) < 1e-7


def test_batchnorm_bad_input_raises():
    with pytest.raises(ValueError, match="mode"):
        batchnorm_forward(np.zeros((2, 3)), np.ones(3), np.zeros(3), {})
    with pytest.raises(ValueError, match=r"gamma must have shape \(D,\) = \(3,\), got shape \(4,\)"):
        batchnorm_forward(np.zeros((2, 3)), np.ones(4), np.zeros(3), {"mode": "train"})
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        spatial_batchnorm_forward(np.zeros((2, 3)), np.ones(3), np.zeros(3), {"mode": "train"})


def test_spatial_batchnorm_matches_torch():
    rng = np.random.default_rng(6)
    x = 1 + 2 * rng.standard_normal((3, 4, 5, 3))
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    dout = rng.standard_normal(x.shape)
    out, cache = spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    grads = spatial_batchnorm_backward(dout, cache)
    out_t, grads_t = torch_grads(lambda a, g, b: F.batch_norm(a, None, None, g, b, training=True, eps=1e-5),
                                 [x, gamma, beta], dout)
    assert out.shape == x.shape and rel_error(out, out_t) < 1e-10
    for g, t in zip(grads, grads_t):
        assert rel_error(g, t) < 1e-9
    dx_numerical = numeric_grads(lambda a: spatial_batchnorm_forward(a, gamma, beta, {"mode": "train"})[0], [x], dout)
    assert rel_error(grads[0], dx_numerical[0]) < 1e-7


def test_layernorm_matches_torch():
    rng = np.random.default_rng(7)
    x = 4 + rng.standard_normal((5, 6))
    gamma, beta = rng.standard_normal(6), rng.standard_normal(6)
    dout = rng.standard_normal(x.shape)
    out, cache = layernorm_forward(x, gamma, beta)
    grads = layernorm_backward(dout, cache)
    out_t, grads_t = torch_grads(lambda a, g, b: F.layer_norm(a, (6,), g, b, eps=1e-5), [x, gamma, beta], dout)
    assert rel_error(out, out_t) < 1e-10
    for g, t in zip(grads, grads_t):
        assert rel_error(g, t) < 1e-9
    expected = numeric_grads(lambda *a: layernorm_forward(*a)[0], [x, gamma, beta], dout)
    for g, e in zip(grads, expected):
        assert rel_error(g, e) < 1e-7


def test_softmax_loss_matches_torch_and_numerical():
    rng = np.random.default_rng(8)
    scores, y = 10 * rng.standard_normal((6, 5)), rng.integers(0, 5, 6)
    loss, dscores = softmax_loss(scores, y)
    st = torch.tensor(scores, requires_grad=True)
    loss_t = F.cross_entropy(st, torch.tensor(y))
    loss_t.backward()
    assert rel_error(loss, loss_t.item()) < 1e-12 and rel_error(dscores, st.grad.numpy()) < 1e-10
    scores = scores / 10                                        # tiny probabilities drown in rounding
    dscores = softmax_loss(scores, y)[1]
    assert rel_error(dscores, eval_numerical_gradient(lambda s: softmax_loss(s, y)[0], scores.copy())) < 1e-7
    big_loss, big_grad = softmax_loss(np.array([[1000.0, -1000.0]]), np.array([1]))
    assert big_loss == pytest.approx(2000.0) and np.all(np.isfinite(big_grad))


def test_svm_loss_matches_torch_and_numerical():
    rng = np.random.default_rng(9)
    scores, y = 3 * rng.standard_normal((6, 5)), rng.integers(0, 5, 6)
    margins = scores - scores[np.arange(6), y][:, None] + 1
    assert np.min(np.abs(margins)) > 1e-3                       # away from the hinge's kinks
    loss, dscores = svm_loss(scores, y)
    st = torch.tensor(scores, requires_grad=True)
    loss_t = F.multi_margin_loss(st, torch.tensor(y)) * 5     # torch also divides by C
    loss_t.backward()
    assert rel_error(loss, loss_t.item()) < 1e-12 and rel_error(dscores, st.grad.numpy()) < 1e-12
    assert rel_error(dscores, eval_numerical_gradient(lambda s: svm_loss(s, y)[0], scores.copy())) < 1e-7
    assert svm_loss(np.array([[2.0, 0.5, 1.5]]), np.array([0]))[0] == pytest.approx(0.5)


@pytest.mark.parametrize("loss_fn", [softmax_loss, svm_loss])
def test_losses_reject_bad_labels(loss_fn):
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        loss_fn(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"\(N,\) = \(2,\)"):
        loss_fn(np.zeros((2, 3)), np.array([0]))
    with pytest.raises(ValueError, match=r"scores must have shape \(N, C\)"):
        loss_fn(np.zeros(3), np.array([0]))


def test_affine_relu_sandwich():
    rng = np.random.default_rng(10)
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    out, cache = affine_relu_forward(x, w, b)
    assert np.min(np.abs(x @ w + b)) > 1e-3
    np.testing.assert_allclose(out, np.maximum(0, x @ w + b))
    dout = rng.standard_normal(out.shape)
    grads = affine_relu_backward(dout, cache)
    for g, e in zip(grads, numeric_grads(lambda *a: affine_relu_forward(*a)[0], [x, w, b], dout)):
        assert rel_error(g, e) < 1e-7


def test_conv_relu_pool_sandwich():
    rng = np.random.default_rng(11)
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    out, cache = conv_relu_pool_forward(x, w, b, stride=1, pad=1)
    assert out.shape == (2, 4, 3, 3)
    dout = rng.standard_normal(out.shape)
    grads = conv_relu_pool_backward(dout, cache)
    out_t, grads_t = torch_grads(lambda a, k, c: F.max_pool2d(F.relu(F.conv2d(a, k, c, padding=1)), 2),
                                 [x, w, b], dout)
    assert rel_error(out, out_t) < 1e-12
    for g, t in zip(grads, grads_t):
        assert rel_error(g, t) < 1e-10
