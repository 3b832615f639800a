"""Linear classifiers' losses on torch tensors: scores = X @ W, hand-written gradients.

Shapes: W (D, C), X (N, D), y (N,) integer labels in [0, C). Each loss returns (loss, dW) with
loss a Python float and dW on W's device, like ``mlcourse.scratch``'s vectorized losses.
"""
from .checks import check_linear_inputs
from .layers import softmax_loss, svm_loss


def _linear_loss(score_loss, W, X, y, reg):
    check_linear_inputs(W, X, y, values=False)     # the score loss checks the label values
    data_loss, dscores = score_loss(X @ W, y)
    loss = data_loss + reg * float((W * W).sum())
    dW = X.T @ dscores + 2 * reg * W          # scores = X W: d/dW = X^T dscores
    return loss, dW


def svm_loss_vectorized(W, X, y, reg):
    """Multiclass SVM loss 1/N sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + 1) + reg * sum(W * W).

    Returns (loss, dW) with dW (D, C).
    """
    return _linear_loss(svm_loss, W, X, y, reg)


def softmax_loss_vectorized(W, X, y, reg):
    """Softmax loss 1/N sum_i -log softmax(s)_{y_i} + reg * sum(W * W). Returns (loss, dW), dW (D, C)."""
    return _linear_loss(softmax_loss, W, X, y, reg)
