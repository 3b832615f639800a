"""k-nearest neighbours (chapter 0): a test example takes the majority label of the k training
examples closest to it in Euclidean (L2) distance.

Shapes: training X (N, D), y (N,); test X (M, D); distances (M, N).
"""
import numpy as np

from .checks import check_rank, check_shape


class KNearestNeighbor:
    """k-NN classifier with the L2 distance computed three ways: two loops, one, none."""

    def __init__(self):
        self.X_train = None
        self.y_train = None

    def train(self, X, y):
        """Memorize the training data: X (N, D), y (N,) integer labels. That is all training is."""
        check_rank("X", X, 2, "(N, D)")
        y = np.asarray(y)
        check_shape("y", y, (X.shape[0],), "(N,)")
        if X.shape[0] == 0:
            raise ValueError("X is empty: k-NN needs at least one training example")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise ValueError(f"y must hold non-negative integer labels, got dtype {y.dtype} "
                             f"with values from {y.min()} to {y.max()}")
        self.X_train, self.y_train = X, y

    def _check_trained(self):
        if self.X_train is None:
            raise ValueError("the classifier has no training data yet: call train(X, y) first")

    def _check_test(self, X):
        self._check_trained()
        check_rank("X", X, 2, "(M, D)")
        if X.shape[1] != self.X_train.shape[1]:
            raise ValueError(f"X must have shape (M, D) with D = {self.X_train.shape[1]} like the "
                             f"training data, got shape {X.shape}")

    def compute_distances_two_loops(self, X):
        """L2 distances with a loop over test and a loop over training examples.

        Input: X (M, D). Returns dists (M, N): dists[i, j] = ||X[i] - X_train[j]||.
        """
        self._check_test(X)
        dists = np.zeros((X.shape[0], self.X_train.shape[0]))
        for i in range(X.shape[0]):
            for j in range(self.X_train.shape[0]):
                dists[i, j] = np.sqrt(np.sum((X[i] - self.X_train[j]) ** 2))
        return dists

    def compute_distances_one_loop(self, X):
        """L2 distances with one loop over test examples, broadcasting over training examples.
        Input: X (M, D). Returns dists (M, N)."""
        self._check_test(X)
        dists = np.zeros((X.shape[0], self.X_train.shape[0]))
        for i in range(X.shape[0]):
            dists[i] = np.sqrt(np.sum((self.X_train - X[i]) ** 2, axis=1))
        return dists

    def compute_distances_no_loops(self, X):
        """L2 distances without loops: ||a - b||^2 = ||a||^2 - 2 a.b + ||b||^2, one matrix product.
        Input: X (M, D). Returns dists (M, N)."""
        self._check_test(X)
        squared = (np.sum(X ** 2, axis=1)[:, None] - 2 * X @ self.X_train.T
                   + np.sum(self.X_train ** 2, axis=1)[None, :])
        return np.sqrt(np.maximum(squared, 0))                # rounding can dip just below 0

    def predict_labels(self, dists, k=1):
        """Majority label among the k nearest training examples; a tie goes to the smaller label.

        Input: dists (M, N). Returns y_pred (M,).
        """
        self._check_trained()
        check_rank("dists", dists, 2, "(M, N)")
        check_shape("dists", dists, (dists.shape[0], self.y_train.shape[0]), "(M, N)")
        if not 1 <= k <= self.y_train.shape[0]:
            raise ValueError(f"k must lie in [1, N] = [1, {self.y_train.shape[0]}], got {k}")
        nearest = np.argsort(dists, axis=1, kind="stable")[:, :k]
        labels = self.y_train[nearest]                            # (M, k)
        num_labels = int(self.y_train.max()) + 1
        votes = np.zeros((dists.shape[0], num_labels), dtype=int)
        np.add.at(votes, (np.arange(dists.shape[0])[:, None], labels), 1)
        return np.argmax(votes, axis=1)

    def predict(self, X, k=1):
        """Labels (M,) for test examples X (M, D), by the fully vectorized distances."""
        return self.predict_labels(self.compute_distances_no_loops(X), k=k)
