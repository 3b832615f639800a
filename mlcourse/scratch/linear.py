"""Linear classifiers on scores = X @ W: the multiclass SVM and softmax losses, the
binary logistic case, and a small trainer by minibatch SGD.

Shapes: W (D, C), X (N, D), y (N,) integer labels in [0, C). The book writes the same model
as f(x) = Wx + b; here x is a row of X and the bias is folded into W by the bias trick.
"""
import numpy as np

from .checks import check_linear_inputs, check_rank, check_shape
from .layers import sigmoid, softmax_loss, svm_loss


def svm_loss_naive(W, X, y, reg):
    """Multiclass SVM (hinge) loss with explicit loops.

    L = 1/N sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + 1) + reg * sum(W * W)
    Returns (loss, dW) with dW of W's shape (D, C).
    """
    N, D, C = check_linear_inputs(W, X, y)
    loss = 0.0
    dW = np.zeros_like(W, dtype=np.float64)
    for i in range(N):
        scores = X[i] @ W
        correct = scores[y[i]]
        for j in range(C):
            if j == y[i]:
                continue
            margin = scores[j] - correct + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss = loss / N + reg * np.sum(W * W)
    dW = dW / N + 2 * reg * W
    return float(loss), dW


def svm_loss_vectorized(W, X, y, reg):
    """Multiclass SVM loss without loops; same contract as ``svm_loss_naive``.

    The hinge loss on the scores X @ W is the layer ``svm_loss``; the chain rule through the
    product gives dW = X.T @ dscores.
    """
    check_linear_inputs(W, X, y)
    loss, dscores = svm_loss(X @ W, y)
    return loss + reg * float(np.sum(W * W)), X.T @ dscores + 2 * reg * W


def softmax_loss_naive(W, X, y, reg):
    """Softmax (cross-entropy) loss with explicit loops, stable by shifting by the row max.

    L = 1/N sum_i -log(exp(s_{y_i}) / sum_j exp(s_j)) + reg * sum(W * W)
    Returns (loss, dW) with dW of W's shape (D, C).
    """
    N, D, C = check_linear_inputs(W, X, y)
    loss = 0.0
    dW = np.zeros_like(W, dtype=np.float64)
    for i in range(N):
        scores = X[i] @ W
        scores = scores - np.max(scores)
        exp = np.exp(scores)
        total = np.sum(exp)
        loss += np.log(total) - scores[y[i]]
        for j in range(C):
            p = exp[j] / total
            dW[:, j] += (p - (j == y[i])) * X[i]
    loss = loss / N + reg * np.sum(W * W)
    dW = dW / N + 2 * reg * W
    return float(loss), dW


def softmax_loss_vectorized(W, X, y, reg):
    """Softmax loss without loops; same contract as ``softmax_loss_naive``.

    The cross-entropy on the scores X @ W is the layer ``softmax_loss`` (stable: it shifts each
    row by its max); the chain rule through the product gives dW = X.T @ dscores.
    """
    check_linear_inputs(W, X, y)
    loss, dscores = softmax_loss(X @ W, y)
    return loss + reg * float(np.sum(W * W)), X.T @ dscores + 2 * reg * W


def binary_cross_entropy(y, p, eps=1e-12):
    """Mean of -[y log p + (1 - y) log(1 - p)]; y (N,) in {0, 1}, p (N,) probabilities."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if y.shape != p.shape:
        raise ValueError(f"y and p must have the same shape, got {y.shape} and {p.shape}")
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


class LinearClassifier:
    """Linear classifier trained by minibatch SGD on a loss ``(W, X, y, reg) -> (loss, dW)``."""

    loss_fn = None

    def __init__(self, seed=0):
        self.W = None
        self.rng = np.random.default_rng(seed)

    def loss(self, X, y, reg):
        return type(self).loss_fn(self.W, X, y, reg)

    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, verbose=False):
        """Minibatch SGD. X (N, D), y (N,). Returns the list of per-iteration losses."""
        check_rank("X", X, 2, "(N, D)")
        N, D = X.shape
        if N == 0:
            raise ValueError("X is empty: training needs at least one example")
        C = int(np.max(y)) + 1
        if self.W is None:
            self.W = 0.001 * self.rng.standard_normal((D, C))
        history = []
        for it in range(num_iters):
            idx = self.rng.choice(N, size=batch_size, replace=batch_size > N)
            loss, dW = self.loss(X[idx], y[idx], reg)
            self.W -= learning_rate * dW
            history.append(loss)
            if verbose and it % 100 == 0:
                print(f"iteration {it} / {num_iters}: loss {loss:.6f}")
        return history

    def predict(self, X):
        """Predicted labels (N,) for X (N, D): the class with the highest score."""
        if self.W is None:
            raise ValueError("the classifier is not trained yet: call train(X, y) first")
        return np.argmax(X @ self.W, axis=1)


class LinearSVM(LinearClassifier):
    """Linear classifier with the multiclass SVM loss."""

    loss_fn = staticmethod(svm_loss_vectorized)


class LinearSoftmax(LinearClassifier):
    """Linear classifier with the softmax (cross-entropy) loss."""

    loss_fn = staticmethod(softmax_loss_vectorized)


class LogisticRegression:
    """Binary classifier p(y=1 | x) = sigmoid(x @ w + b), trained by full-batch gradient descent."""

    def __init__(self):
        self.w = None
        self.b = 0.0

    def predict_proba(self, X):
        """Probabilities (N,) of class 1 for X (N, D)."""
        if self.w is None:
            raise ValueError("the classifier is not trained yet: call fit(X, y) first")
        return sigmoid(X @ self.w + self.b)

    def fit(self, X, y, learning_rate=0.1, num_iters=1000):
        """Gradient descent on the binary cross-entropy; X (N, D), y (N,) in {0, 1}.
        Returns the loss history."""
        check_rank("X", X, 2, "(N, D)")
        check_shape("y", y, (X.shape[0],), "(N,)")
        self.w = np.zeros(X.shape[1])
        self.b = 0.0
        history = []
        for _ in range(num_iters):
            p = self.predict_proba(X)
            history.append(binary_cross_entropy(y, p))
            error = (p - y) / len(y)              # dL/dz for sigmoid followed by cross-entropy
            self.w -= learning_rate * (X.T @ error)
            self.b -= learning_rate * float(np.sum(error))
        return history

    def predict(self, X):
        """Labels (N,) in {0, 1}."""
        return (self.predict_proba(X) >= 0.5).astype(int)
