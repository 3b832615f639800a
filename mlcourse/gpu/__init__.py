"""The course's operations on torch tensors, with hand-written backward passes.

Same names, signatures and ``(out, cache)`` / ``op_backward(dout, cache)`` contract as
``mlcourse.scratch``, with torch tensors in place of NumPy arrays. Nothing here calls autograd:
each backward pass is the same math as the NumPy reference, run on whatever device the inputs
live on (CUDA when present, the CPU otherwise; see ``default_device``).
"""
from ..device import default_device  # noqa: F401  (the device the models train on)
from .conv import (
    avg_pool_backward_fast,
    avg_pool_forward_fast,
    conv_backward_fast,
    conv_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
)
from .layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    layernorm_backward,
    layernorm_forward,
    leaky_relu_backward,
    leaky_relu_forward,
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
)
from .linear import softmax_loss_vectorized, svm_loss_vectorized
