"""mlcourse.scratch, networks and training: the three models' gradients against central
differences, the update rules against torch.optim, and the Solver's histories, best
parameters, gradient clipping and atomic checkpoints."""
import pickle

import numpy as np
import pytest
import torch

import mlcourse.solver as solver_module
from mlcourse.data import load_digits
from mlcourse.gradcheck import eval_numerical_gradient, rel_error
from mlcourse.scratch import (
    FullyConnectedNet,
    Solver,
    ThreeLayerConvNet,
    TwoLayerNet,
    adam,
    clip_by_global_norm,
    global_norm,
    rmsprop,
    sgd,
    sgd_momentum,
)


def assert_gradients(model, X, y, tol=1e-7, seed=0):
    """Every gradient of model.loss within relative error tol of central differences.

    Biases and shifts are first moved off zero: at zero, a ReLU whose inputs are all dead sits
    exactly on its kink. Entries that are zero in theory (a bias before batchnorm, a dead unit)
    come out ~1e-11 numerically, so the error counts |analytic - numerical| <= tol * (|analytic|
    + |numerical|) + 1e-10 as a match.
    """
    rng = np.random.default_rng(seed)
    for name, param in model.params.items():
        if name[0] == "b":
            param += 0.5 * rng.standard_normal(param.shape)
    loss, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name, param in model.params.items():
        numerical = eval_numerical_gradient(lambda _: model.loss(X, y)[0], param)
        analytic = grads[name]
        assert analytic.shape == param.shape
        error = np.max(np.abs(analytic - numerical) / (np.abs(analytic) + np.abs(numerical) + 1e-3))
        assert error < tol, f"{name}: relative error {error:.1e}"
    return loss


def small_problem(seed=0, N=5, D=6, C=4):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, D)), rng.integers(0, C, N)


def test_two_layer_net_init_scores_and_gradients():
    model = TwoLayerNet(64, 50, 10, weight_scale=1e-2, seed=0)
    assert {k: v.shape for k, v in model.params.items()} == {"W1": (64, 50), "b1": (50,), "W2": (50, 10), "b2": (10,)}
    assert not model.params["b1"].any() and not model.params["b2"].any()
    assert 0.008 < model.params["W1"].std() < 0.012
    X = np.random.default_rng(1).standard_normal((3, 8, 8))        # flattened to D = 64
    scores = model.loss(X)
    np.testing.assert_allclose(scores, np.maximum(0, X.reshape(3, -1) @ model.params["W1"]) @ model.params["W2"])

    X, y = small_problem()
    model = TwoLayerNet(6, 5, 4, weight_scale=0.5, reg=0.3, seed=2)
    loss = assert_gradients(model, X, y)
    unregularized = TwoLayerNet(6, 5, 4, weight_scale=0.5, reg=0.0, seed=2)
    unregularized.params = model.params
    unregularized, _ = unregularized.loss(X, y)
    weights = np.sum(model.params["W1"] ** 2) + np.sum(model.params["W2"] ** 2)
    assert loss - unregularized == pytest.approx(0.5 * 0.3 * weights)


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
@pytest.mark.parametrize("keep", [1, 0.6])
def test_fully_connected_net_gradients(normalization, keep):
    X, y = small_problem(seed=3)
    model = FullyConnectedNet([5, 4], input_dim=6, num_classes=4, dropout_keep_ratio=keep,
                              normalization=normalization, reg=0.1, weight_scale=0.5, dtype=np.float64, seed=4)
    names = {"W1", "b1", "W2", "b2", "W3", "b3"}
    if normalization:
        names |= {"gamma1", "beta1", "gamma2", "beta2"}
    assert set(model.params) == names
    assert_gradients(model, X, y)


def test_fully_connected_net_modes_and_dtype():
    X, y = small_problem(seed=5, N=20)
    model = FullyConnectedNet([8], input_dim=6, num_classes=4, dropout_keep_ratio=0.5, normalization="batchnorm",
                              seed=0)
    assert all(p.dtype == np.float32 for p in model.params.values())
    loss, grads = model.loss(X, y)
    assert all(g.dtype == np.float32 for g in grads.values())
    # test mode: no dropout, running statistics; so two calls agree exactly
    np.testing.assert_array_equal(model.loss(X), model.loss(X))
    assert model.bn_params[0]["mode"] == "test"
    with pytest.raises(ValueError, match="normalization must be None, 'batchnorm' or 'layernorm'"):
        FullyConnectedNet([8], 6, 4, normalization="groupnorm")
    with pytest.raises(ValueError, match="keep probability"):
        FullyConnectedNet([8], 6, 4, dropout_keep_ratio=0)
    with pytest.raises(ValueError, match=r"D = 5 features .* got w of shape \(6, 8\)"):
        model.loss(np.zeros((2, 5)), np.array([0, 1]))


def test_three_layer_convnet_gradients():
    rng = np.random.default_rng(6)
    X, y = rng.standard_normal((2, 2, 4, 4)), rng.integers(0, 3, 2)
    model = ThreeLayerConvNet(input_dim=(2, 4, 4), num_filters=3, filter_size=3, hidden_dim=5, num_classes=3,
                              weight_scale=0.5, reg=0.05, dtype=np.float64, seed=7)
    assert model.params["W1"].shape == (3, 2, 3, 3) and model.params["W2"].shape == (3 * 2 * 2, 5)
    assert model.loss(X).shape == (2, 3)
    assert_gradients(model, X, y)
    with pytest.raises(ValueError, match="odd"):
        ThreeLayerConvNet(filter_size=4)
    with pytest.raises(ValueError, match="even H and W"):
        ThreeLayerConvNet(input_dim=(3, 7, 8))


def run_torch(optimizer_cls, w0, grads, **kwargs):
    p = torch.tensor(w0, requires_grad=True)
    opt = optimizer_cls([p], **kwargs)
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
    return p.detach().numpy()


@pytest.mark.parametrize("rule, torch_cls, kwargs", [
    (sgd, torch.optim.SGD, {"lr": 1e-2}),
    (sgd_momentum, torch.optim.SGD, {"lr": 1e-2, "momentum": 0.9}),
    (rmsprop, torch.optim.RMSprop, {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8}),
    (adam, torch.optim.Adam, {"lr": 1e-2, "betas": (0.9, 0.999), "eps": 1e-8}),
], ids=["sgd", "sgd_momentum", "rmsprop", "adam"])
def test_update_rules_match_torch_optim(rule, torch_cls, kwargs):
    rng = np.random.default_rng(8)
    w0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(6)]
    w, config = w0.copy(), None
    for g in grads:
        w, config = rule(w, g, config)
    assert config["learning_rate"] == 1e-2                          # the default
    assert rel_error(w, run_torch(torch_cls, w0, grads, **kwargs)) < 1e-12


def test_update_rule_state():
    w, dw = np.ones(3), np.array([1.0, -2.0, 0.5])
    _, config = adam(w, dw)
    assert config["t"] == 1 and {"m", "v", "beta1", "beta2", "epsilon"} <= set(config)
    # Adam's first step moves every weight by about learning_rate against its gradient's sign
    next_w, _ = adam(w, dw, {"learning_rate": 0.1})
    np.testing.assert_allclose(next_w, w - 0.1 * np.sign(dw), rtol=1e-6)
    _, config = sgd_momentum(w, dw, {"momentum": 0.5})
    np.testing.assert_allclose(config["velocity"], -1e-2 * dw)
    with pytest.raises(ValueError, match=r"dw must have w's shape \(3,\)"):
        sgd(w, np.ones(4))


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return {"X_train": data["X_train"][:200] / 16, "y_train": data["y_train"][:200],
            "X_val": data["X_val"][:100] / 16, "y_val": data["y_val"][:100]}


def test_solver_overfits_and_keeps_the_best_params(digits):
    small = {**digits, "X_train": digits["X_train"][:50], "y_train": digits["y_train"][:50]}
    model = TwoLayerNet(64, 50, 10, weight_scale=1e-1, seed=0)
    solver = Solver(model, small, update_rule="adam", optim_config={"learning_rate": 1e-2}, lr_decay=0.95,
                    batch_size=10, num_epochs=15, verbose=False, seed=0)
    solver.train()
    assert len(solver.loss_history) == len(solver.grad_norm_history) == 15 * 5
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 15 + 1   # the start, then every epoch
    assert solver.train_acc_history[-1] == 1.0
    assert np.mean(solver.loss_history[-5:]) < 0.2 * solver.loss_history[0]
    assert solver.best_val_acc == max(solver.val_acc_history) > 0.5
    assert model.params is solver.best_params
    assert solver.check_accuracy(small["X_val"], small["y_val"]) == solver.best_val_acc
    assert solver.optim_configs["W1"]["learning_rate"] == pytest.approx(1e-2 * 0.95 ** 15)


def test_solver_clips_the_global_norm(digits):
    received = []

    def recording_sgd(w, dw, config):
        received.append(dw)
        return sgd(w, dw, config)

    model = TwoLayerNet(64, 20, 10, weight_scale=1.0, seed=1)
    solver = Solver(model, digits, update_rule=recording_sgd, batch_size=50, num_epochs=1, clip_norm=0.5,
                    verbose=False, seed=1)
    solver.train()
    assert min(solver.grad_norm_history) > 0.5                       # every step needed clipping
    per_step = [received[i:i + 4] for i in range(0, len(received), 4)]
    norms = [np.sqrt(sum(np.sum(g ** 2) for g in step)) for step in per_step]
    np.testing.assert_allclose(norms, 0.5, rtol=1e-12)


def test_clip_by_global_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    assert global_norm(grads) == 5.0
    clipped, norm = clip_by_global_norm(grads, 1.0)
    assert norm == 5.0
    np.testing.assert_allclose(clipped["a"], [0.6, 0.0])
    np.testing.assert_allclose(clipped["b"], [[0.8]])
    assert clip_by_global_norm(grads, 10.0)[0] is grads                 # short enough: untouched
    assert clip_by_global_norm(grads, None)[0] is grads


def test_solver_checkpoints_atomically(digits, tmp_path, monkeypatch):
    name = str(tmp_path / "run")
    model = TwoLayerNet(64, 10, 10, seed=2)
    Solver(model, digits, batch_size=100, num_epochs=2, checkpoint_name=name, verbose=False, seed=2).train()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["run_epoch_0.pkl", "run_epoch_1.pkl", "run_epoch_2.pkl"]
    with open(tmp_path / "run_epoch_2.pkl", "rb") as f:
        state = pickle.load(f)
    assert state["epoch"] == 2 and len(state["loss_history"]) == 4
    assert set(state["model"].params) == {"W1", "b1", "W2", "b2"}

    before = (tmp_path / "run_epoch_1.pkl").read_bytes()

    def crash(obj, f):
        f.write(b"half a pickle")
        raise OSError("disk full")

    monkeypatch.setattr(solver_module.pickle, "dump", crash)
    with pytest.raises(OSError, match="disk full"):
        Solver(model, digits, batch_size=100, num_epochs=1, checkpoint_name=name, verbose=False).train()
    assert (tmp_path / "run_epoch_1.pkl").read_bytes() == before     # the old file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == files         # and no temporary file is left


def test_solver_arguments_are_checked(digits):
    model = TwoLayerNet(64, 10, 10)
    with pytest.raises(TypeError, match="bogus"):
        Solver(model, digits, bogus=1)
    with pytest.raises(ValueError, match="update_rule must be"):
        Solver(model, digits, update_rule="lbfgs")
    with pytest.raises(ValueError, match="clip_norm must be positive"):
        Solver(model, digits, clip_norm=0)
    with pytest.raises(ValueError, match="one label per example"):
        Solver(model, {**digits, "y_train": digits["y_train"][:5]})


def test_solver_records_the_start_before_any_update(digits):
    model = TwoLayerNet(64, 10, 10, seed=4)
    start = {name: w.copy() for name, w in model.params.items()}
    solver = Solver(model, digits, num_epochs=0, verbose=False, seed=4)
    solver.train()
    assert solver.loss_history == [] and len(solver.val_acc_history) == 1
    assert set(model.params) == set(start)                            # not emptied by zero epochs
    for name, w in start.items():
        np.testing.assert_array_equal(model.params[name], w)


def test_solver_reports_progress(digits, capsys):
    model = TwoLayerNet(64, 10, 10, seed=3)
    Solver(model, digits, batch_size=100, num_epochs=1, print_every=1, seed=3).train()
    output = capsys.readouterr()
    text = output.out + output.err
    assert "(iteration 1 / 2) loss:" in text and "(epoch 1 / 1) train acc" in text
