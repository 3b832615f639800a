"""mlcourse.scratch, chapters 0-3: k-NN distances and votes, the SVM and softmax losses on linear
scores (naive == vectorized, analytic == numerical gradients, torch agrees), the binary case,
and the linear classifiers' training loops."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcourse.data import make_blobs
from mlcourse.gradcheck import eval_numerical_gradient, rel_error
from mlcourse.scratch import (
    KNearestNeighbor,
    LinearSoftmax,
    LinearSVM,
    LogisticRegression,
    binary_cross_entropy,
    sigmoid,
    softmax_loss_naive,
    softmax_loss_vectorized,
    svm_loss_naive,
    svm_loss_vectorized,
)

FAMILY = settings(max_examples=25, deadline=None, derandomize=True)
LOSSES = {"svm": (svm_loss_naive, svm_loss_vectorized), "softmax": (softmax_loss_naive, softmax_loss_vectorized)}
ALL_LOSSES = [fn for pair in LOSSES.values() for fn in pair]


def linear_problem(seed, N, D, C, scale=1.0):
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal((D, C)), rng.standard_normal((N, D)), rng.integers(0, C, N)


def hinge_margins(W, X, y):
    scores = X @ W
    margins = scores - scores[np.arange(len(y)), y][:, None] + 1
    margins[np.arange(len(y)), y] = np.inf
    return margins


@pytest.mark.parametrize("name", LOSSES)
@FAMILY
@given(N=st.integers(1, 9), D=st.integers(1, 7), C=st.integers(2, 6),
       reg=st.sampled_from([0.0, 0.1, 2.5]), seed=st.integers(0, 2 ** 16))
def test_naive_equals_vectorized(name, N, D, C, reg, seed):
    naive, vectorized = LOSSES[name]
    W, X, y = linear_problem(seed, N, D, C)
    loss_n, dW_n = naive(W, X, y, reg)
    loss_v, dW_v = vectorized(W, X, y, reg)
    assert rel_error(loss_n, loss_v) < 1e-9
    assert dW_n.shape == dW_v.shape == W.shape
    assert rel_error(dW_n, dW_v) < 1e-9


@pytest.mark.parametrize("loss_fn", ALL_LOSSES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_matches_numerical(loss_fn, seed):
    W, X, y = linear_problem(seed, N=6, D=5, C=4)
    if loss_fn.__name__.startswith("svm"):
        # central differences are exact on the linear pieces of the hinge: stay away from its kinks
        assert np.min(np.abs(hinge_margins(W, X, y))) > 1e-3, "pick another seed: a margin sits on a kink"
    loss, dW = loss_fn(W, X, y, 0.3)
    numerical = eval_numerical_gradient(lambda w: loss_fn(w, X, y, 0.3)[0], W.copy())
    assert rel_error(dW, numerical) < 1e-7


def test_known_values_at_zero_weights():
    W = np.zeros((3, 4))
    X = np.arange(6.0).reshape(2, 3)
    y = np.array([0, 3])
    # every score is 0: each wrong class has margin 1, and softmax is uniform over C = 4 classes
    for fn in LOSSES["svm"]:
        assert fn(W, X, y, 1.0)[0] == pytest.approx(3.0)
    for fn in LOSSES["softmax"]:
        assert fn(W, X, y, 1.0)[0] == pytest.approx(np.log(4))


def test_regularization_term():
    W, X, y = linear_problem(3, N=5, D=4, C=3)
    for fn in ALL_LOSSES:
        loss0, dW0 = fn(W, X, y, 0.0)
        loss1, dW1 = fn(W, X, y, 0.7)
        assert loss1 - loss0 == pytest.approx(0.7 * np.sum(W * W))
        np.testing.assert_allclose(dW1 - dW0, 2 * 0.7 * W, rtol=1e-12, atol=1e-12)


def test_svm_matches_torch_multi_margin_loss():
    W, X, y = linear_problem(4, N=7, D=5, C=4)
    Wt = torch.tensor(W, requires_grad=True)
    # torch averages the hinge over the C classes as well; ours sums over classes
    loss_t = F.multi_margin_loss(torch.tensor(X) @ Wt, torch.tensor(y)) * W.shape[1]
    loss_t.backward()
    for fn in LOSSES["svm"]:
        loss, dW = fn(W, X, y, 0.0)
        assert rel_error(loss, loss_t.item()) < 1e-12
        assert rel_error(dW, Wt.grad.numpy()) < 1e-9


def test_softmax_matches_torch_cross_entropy_and_is_stable():
    W, X, y = linear_problem(5, N=7, D=5, C=4, scale=300.0)    # scores in the thousands
    Wt = torch.tensor(W, requires_grad=True)
    loss_t = F.cross_entropy(torch.tensor(X) @ Wt, torch.tensor(y))
    loss_t.backward()
    for fn in LOSSES["softmax"]:
        loss, dW = fn(W, X, y, 0.0)
        assert np.isfinite(loss) and np.all(np.isfinite(dW))
        assert rel_error(loss, loss_t.item()) < 1e-9
        assert rel_error(dW, Wt.grad.numpy()) < 1e-9


@pytest.mark.parametrize("loss_fn", ALL_LOSSES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("W, X, y, words", [
    (np.zeros(3), np.zeros((2, 3)), np.array([0, 1]), "W must have shape (D, C)"),
    (np.zeros((3, 2)), np.zeros((2, 3, 1)), np.array([0, 1]), "X must have shape (N, D)"),
    (np.zeros((4, 2)), np.zeros((2, 3)), np.array([0, 1]), "D = 3"),
    (np.zeros((3, 2)), np.zeros((2, 3)), np.array([0, 1, 1]), "got shape (3,)"),
    (np.zeros((3, 2)), np.zeros((2, 3)), np.array([0, 2]), "[0, 2)"),
    (np.zeros((3, 2)), np.zeros((2, 3)), np.array([0, -1]), "[0, 2)"),
    (np.zeros((3, 2)), np.zeros((2, 3)), np.array([0.0, 1.0]), "integer"),
])
def test_bad_shapes_and_labels_raise(loss_fn, W, X, y, words):
    with pytest.raises(ValueError) as error:
        loss_fn(W, X, y, 0.1)
    assert words in str(error.value)


@pytest.mark.parametrize("model_cls", [LinearSVM, LinearSoftmax])
def test_linear_classifiers_learn_separable_blobs(model_cls):
    X, y = make_blobs(num_per_class=40, num_classes=3, seed=0)
    X = np.hstack([X, np.ones((len(X), 1))])                     # bias trick
    model = model_cls(seed=0)
    with pytest.raises(ValueError, match="not trained"):
        model.predict(X)
    history = model.train(X, y, learning_rate=0.5, reg=1e-4, num_iters=200, batch_size=30)
    assert len(history) == 200
    assert np.mean(history[-20:]) < 0.5 * history[0]
    assert np.mean(model.predict(X) == y) > 0.95


def test_sigmoid_is_stable_and_symmetric():
    z = np.array([-1000.0, -30.0, -1.0, 0.0, 1.0, 30.0, 1000.0])
    s = sigmoid(z)
    assert np.all(np.isfinite(s)) and s[3] == 0.5
    np.testing.assert_allclose(s + sigmoid(-z), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(s, torch.sigmoid(torch.tensor(z)).numpy(), rtol=1e-12, atol=1e-300)


def test_binary_cross_entropy_matches_torch():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 10).astype(float)
    p = rng.uniform(0.01, 0.99, 10)
    expected = F.binary_cross_entropy(torch.tensor(p), torch.tensor(y)).item()
    assert binary_cross_entropy(y, p) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        binary_cross_entropy(y, p[:5])


def test_logistic_regression_learns_and_its_gradient_is_right():
    X, y = make_blobs(num_per_class=50, num_classes=2, seed=1)
    model = LogisticRegression()
    with pytest.raises(ValueError, match="not trained"):
        model.predict(X)
    with pytest.raises(ValueError, match=r"y must have shape \(N,\)"):
        model.fit(X, y[:-1])
    history = model.fit(X, y, learning_rate=0.5, num_iters=300)
    assert history[-1] < history[0] and np.mean(model.predict(X) == y) > 0.95
    # the update uses dL/dz = (p - y) / N: compare with central differences of the loss
    w = model.w.copy()
    numerical = eval_numerical_gradient(lambda v: binary_cross_entropy(y, sigmoid(X @ v + model.b)), w)
    analytic = X.T @ (model.predict_proba(X) - y) / len(y)
    assert rel_error(analytic, numerical) < 1e-7


@FAMILY
@given(M=st.integers(1, 6), N=st.integers(1, 8), D=st.integers(1, 5), seed=st.integers(0, 2 ** 16))
def test_knn_distances_agree(M, N, D, seed):
    rng = np.random.default_rng(seed)
    knn = KNearestNeighbor()
    knn.train(rng.standard_normal((N, D)), rng.integers(0, 3, N))
    X = rng.standard_normal((M, D))
    two = knn.compute_distances_two_loops(X)
    expected = np.linalg.norm(X[:, None, :] - knn.X_train[None, :, :], axis=2)
    assert two.shape == (M, N)
    assert rel_error(two, expected) < 1e-9
    assert rel_error(knn.compute_distances_one_loop(X), two) < 1e-9
    assert rel_error(knn.compute_distances_no_loops(X), two) < 1e-7   # the expansion loses a few digits


def test_knn_votes():
    knn = KNearestNeighbor()
    X_train = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]])
    knn.train(X_train, np.array([2, 1, 1, 0, 0]))
    assert list(knn.predict(X_train, k=1)) == [2, 1, 1, 0, 0]
    assert list(knn.predict(np.array([[0.1], [10.4]]), k=3)) == [1, 0]
    # one vote each for labels 2 and 1 among the 2 nearest: the tie goes to the smaller label
    assert list(knn.predict(np.array([[0.4]]), k=2)) == [1]


def test_knn_bad_inputs_raise():
    knn = KNearestNeighbor()
    with pytest.raises(ValueError, match="train"):
        knn.predict(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="y must have shape"):
        knn.train(np.zeros((3, 2)), np.array([0, 1]))
    knn.train(np.zeros((3, 2)), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match=r"D = 2 .* got shape \(1, 3\)"):
        knn.compute_distances_no_loops(np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"k must lie in \[1, N\]"):
        knn.predict(np.zeros((1, 2)), k=4)
