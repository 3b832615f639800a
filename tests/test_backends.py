"""One contract per operation, run over every back end that implements it (as minitorch runs one
test over its back ends): the NumPy reference ``mlcourse.scratch``, ``mlcourse.gpu`` on CPU
tensors, and ``mlcourse.gpu`` on CUDA tensors when a GPU is present.

Each contract, in float64 with fixed seeds: the forward values against torch functional ops on the
CPU (the float64 reference), the backward pass against autograd through that reference, the
shapes (and, for tensors, the device and dtype) of every result, a clear ValueError on inputs of
the wrong shape, and on an upstream gradient of the wrong shape where the backward pass checks it.
"""
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from torch.nn import functional

import mlcourse.gpu as gpu
import mlcourse.scratch as scratch
from mlcourse.gradcheck import rel_error

TOL = 1e-9
CUDA = pytest.mark.skipif(not torch.cuda.is_available(),
                          reason="CUDA is not available on this machine; the CUDA back end is skipped")
BACKENDS = ["numpy", "torch-cpu", pytest.param("torch-cuda", marks=[CUDA, pytest.mark.gpu])]


@dataclass
class Backend:
    """An operations module and how to hand it arrays: ``put`` a NumPy array in, ``get`` one out."""
    ops: object
    device: str = None

    def put(self, a):
        return a.copy() if self.device is None else torch.as_tensor(a).to(self.device)

    def get(self, t):
        return np.asarray(t) if self.device is None else t.detach().cpu().numpy()

    def check_kind(self, t):
        if self.device is None:
            assert isinstance(t, np.ndarray) and t.dtype == np.float64
        else:
            assert isinstance(t, torch.Tensor) and t.dtype == torch.float64 and t.device.type == self.device


def backend(name):
    return Backend(scratch) if name == "numpy" else Backend(gpu, name.split("-")[1])


def rng_arrays(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in shapes]


def labels(n, num_classes, seed=0):
    return np.random.default_rng(seed).integers(num_classes, size=n)


@dataclass
class Layer:
    """``name_forward(*inputs, *extra(), **hyper) -> (out, cache)``, ``name_backward(dout, cache)``
    returning one gradient per input; ``reference`` takes float64 CPU tensors (autograd leaves)."""
    shapes: tuple
    reference: object
    bad_shapes: tuple
    message: str                  # what the ValueError on ``bad_shapes`` says (None: no shape to check)
    hyper: dict = field(default_factory=dict)
    extra: object = tuple
    checks_dout: bool = True


def torch_conv(x, w, b, stride, pad, dilation):
    return functional.conv2d(x, w, b, stride=stride, padding=pad, dilation=dilation)


def torch_pool(pool):
    return lambda x, pool_height, pool_width, stride: pool(x, (pool_height, pool_width), stride)


def torch_batchnorm(x, g, b):
    return functional.batch_norm(x, None, None, g, b, training=True, eps=1e-5)


LAYERS = {
    "affine": Layer(((4, 2, 3), (6, 5), (5,)), lambda x, w, b: x.reshape(4, 6) @ w + b,
                    ((2, 5), (6, 3), (3,)), r"x .*D = [56]"),     # scratch and gpu word it differently
    "batchnorm": Layer(((8, 5), (5,), (5,)), torch_batchnorm, ((8, 5), (5,), (4,)), "beta",
                       extra=lambda: ({"mode": "train"},)),
    "layernorm": Layer(((4, 6), (6,), (6,)), lambda x, g, b: functional.layer_norm(x, (6,), g, b, eps=1e-5),
                       ((4, 6, 1), (6,), (6,)), r"\(N, D\)"),
    "spatial_batchnorm": Layer(((3, 4, 5, 2), (4,), (4,)), torch_batchnorm, ((3, 4, 5), (4,), (4,)),
                               r"\(N, C, H, W\)", extra=lambda: ({"mode": "train"},)),
    "conv_fast": Layer(((2, 3, 9, 9), (4, 3, 3, 3), (4,)), torch_conv, ((1, 3, 5, 5), (2, 4, 3, 3), (2,)), "C = 3",
                       hyper={"stride": 2, "pad": 1, "dilation": 2}),
    "max_pool_fast": Layer(((2, 3, 9, 9),), torch_pool(functional.max_pool2d), ((2, 3, 8, 8),),
                           r"\(W - F \+ 2P\)/S \+ 1", hyper={"pool_height": 3, "pool_width": 3, "stride": 3}),
    "avg_pool_fast": Layer(((2, 3, 9, 9),), torch_pool(functional.avg_pool2d), ((2, 9, 9),),
                           r"\(N, C, H, W\)", hyper={"pool_height": 3, "pool_width": 3, "stride": 2}),
}
# elementwise layers have no shape to get wrong, nor an upstream shape to check: values and gradients
ELEMENTWISE = {
    "relu": Layer(((4, 3, 5),), torch.relu, (), None, checks_dout=False),
    "leaky_relu": Layer(((4, 3, 5),), lambda x, alpha: functional.leaky_relu(x, alpha), (), None,
                        hyper={"alpha": 0.1}, checks_dout=False),
    "sigmoid": Layer(((4, 3, 5),), torch.sigmoid, (), None, checks_dout=False),
    "tanh": Layer(((4, 3, 5),), torch.tanh, (), None, checks_dout=False),
    "dropout": Layer(((4, 5),), lambda x, p, mode: x * 1.0, (), None, hyper={"p": 1.0, "mode": "train"},
                     checks_dout=False),
}
CASES = {**LAYERS, **ELEMENTWISE}


def functions(B, name):
    forward, backward = (f"{name}_forward", f"{name}_backward") if not name.endswith("_fast") else \
        (name.replace("_fast", "_forward_fast"), name.replace("_fast", "_backward_fast"))
    return getattr(B.ops, forward), getattr(B.ops, backward)


def check_layer(B, name, case, seed=0):
    forward, backward = functions(B, name)
    inputs = rng_arrays(seed, *case.shapes)
    out, cache = forward(*map(B.put, inputs), *case.extra(), **case.hyper)
    leaves = [torch.tensor(a, requires_grad=True) for a in inputs]
    expected = case.reference(*leaves, **case.hyper)
    B.check_kind(out)
    assert out.shape == tuple(expected.shape)
    assert rel_error(B.get(out), expected.detach().numpy()) < TOL
    dout = rng_arrays(seed + 99, tuple(expected.shape))[0]
    grads = backward(B.put(dout), cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    want = torch.autograd.grad(expected, leaves, torch.tensor(dout))
    assert len(grads) == len(want)
    for got, w, a in zip(grads, want, inputs):
        B.check_kind(got)
        assert got.shape == a.shape
        assert rel_error(B.get(got), w.numpy()) < TOL
    return cache


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("name", CASES)
def test_layer_contract(backend_name, name):
    B, case = backend(backend_name), CASES[name]
    cache = check_layer(B, name, case)
    forward, backward = functions(B, name)
    if case.message is not None:
        with pytest.raises(ValueError, match=case.message):
            forward(*map(B.put, rng_arrays(1, *case.bad_shapes)), *case.extra(), **case.hyper)
    if case.checks_dout:
        out_shape = tuple(forward(*map(B.put, rng_arrays(0, *case.shapes)), *case.extra(), **case.hyper)[0].shape)
        wrong = rng_arrays(2, out_shape[:-1] + (out_shape[-1] + 1,))[0]
        with pytest.raises(ValueError, match="dout must have shape"):
            backward(B.put(wrong), cache)


# ------------------------------------------------------------------------------ losses

def torch_svm(scores, y):
    return functional.multi_margin_loss(scores, y) * scores.shape[1]      # torch divides each row by C


SCORE_LOSSES = {"softmax_loss": functional.cross_entropy, "svm_loss": torch_svm}
LINEAR_LOSSES = {"softmax_loss_vectorized": functional.cross_entropy, "svm_loss_vectorized": torch_svm}


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("name", SCORE_LOSSES)
def test_score_loss_contract(backend_name, name):
    B, loss_fn = backend(backend_name), getattr(backend(backend_name).ops, name)
    (scores,), y = rng_arrays(0, (7, 4)), labels(7, 4)
    loss, dscores = loss_fn(B.put(scores), B.put(y))
    leaf = torch.tensor(scores, requires_grad=True)
    expected = SCORE_LOSSES[name](leaf, torch.tensor(y))
    assert isinstance(loss, float) and rel_error(loss, expected.item()) < TOL
    B.check_kind(dscores)
    assert dscores.shape == (7, 4)
    assert rel_error(B.get(dscores), torch.autograd.grad(expected, leaf)[0].numpy()) < TOL
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        loss_fn(B.put(scores), B.put(np.array([0, 4, 1, 2, 0, 1, 3])))
    with pytest.raises(ValueError, match="one label per row"):
        loss_fn(B.put(scores), B.put(y[:-1]))
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        loss_fn(B.put(scores[0]), B.put(y))


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("name", LINEAR_LOSSES)
def test_linear_loss_contract(backend_name, name):
    B, loss_fn, reg = backend(backend_name), getattr(backend(backend_name).ops, name), 0.3
    (W, X), y = rng_arrays(0, (6, 3), (10, 6)), labels(10, 3)
    loss, dW = loss_fn(B.put(W), B.put(X), B.put(y), reg)
    leaf = torch.tensor(W, requires_grad=True)
    expected = LINEAR_LOSSES[name](torch.tensor(X) @ leaf, torch.tensor(y)) + reg * (leaf * leaf).sum()
    assert rel_error(loss, expected.item()) < TOL
    B.check_kind(dW)
    assert dW.shape == (6, 3)
    assert rel_error(B.get(dW), torch.autograd.grad(expected, leaf)[0].numpy()) < TOL
    with pytest.raises(ValueError, match="D = 6"):
        loss_fn(B.put(W[:5]), B.put(X), B.put(y), reg)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        loss_fn(B.put(W), B.put(X), B.put(np.where(y == 0, -1, y)), reg)


def test_every_operation_of_both_back_ends_has_a_contract():
    shared = {n for n in dir(gpu) if n.endswith(("_forward", "_forward_fast", "_loss", "_loss_vectorized"))
              and hasattr(scratch, n)}
    covered = {functions(Backend(gpu), name)[0].__name__ for name in CASES}
    assert shared == covered | set(SCORE_LOSSES) | set(LINEAR_LOSSES)
