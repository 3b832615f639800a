"""NumPy reference implementations ("from scratch"), float64-safe."""
from .linear import (
    LinearClassifier,
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
