"""Reference gradients for the layer tests: central differences and torch's autograd."""
import torch

from mlcourse.gradcheck import eval_numerical_gradient_array


def numeric_grads(forward, inputs, dout):
    """Central-difference gradients of sum(forward(*inputs) * dout) for every input."""
    grads = []
    for i, a in enumerate(inputs):
        def f(v, i=i):
            args = list(inputs)
            args[i] = v
            return forward(*args)
        grads.append(eval_numerical_gradient_array(f, a.copy(), dout))
    return grads


def torch_grads(op, inputs, dout):
    """(out, [grad of each input]) of a torch op on float64 copies of ``inputs``."""
    leaves = [torch.tensor(a, requires_grad=True) for a in inputs]
    out = op(*leaves)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), [t.grad.numpy() for t in leaves]
