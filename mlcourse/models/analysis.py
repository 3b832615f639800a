"""Looking inside a model: parameter counts, a layer-by-layer summary, and gradient flow."""
import torch
from torch import nn
from torch.nn import functional


def count_parameters(model, trainable_only=False):
    """Number of scalars in the model's parameters (only those with requires_grad if asked)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _leaves(model):
    return [(name, module) for name, module in model.named_modules() if not list(module.children())]


def _format_shape(shape):
    return " x ".join(str(n) for n in shape)


def summary(model, input_shape, print_fn=print):
    """Print each layer's output shape and parameter count, running one image through the model.

    input_shape: (C, H, W) of one image. The image is made on the model's device (a model built
    on the ``meta`` device is walked without computing anything) and run in eval mode without
    gradients; the model's mode is restored afterwards.
    Returns the rows as a list of (name, layer type, output shape without N, parameters),
    in the order the layers ran; a layer used twice appears twice, its parameters counted once.
    """
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or not all(isinstance(n, int) and n > 0 for n in input_shape):
        raise ValueError(f"input_shape must be (C, H, W) of one image, got {input_shape!r}")
    rows, seen = [], set()

    def record(name):
        def hook(module, inputs, output):
            params = 0 if name in seen else sum(p.numel() for p in module.parameters(recurse=False))
            seen.add(name)
            rows.append((name, type(module).__name__, tuple(output.shape[1:]), params))
        return hook

    handles = [module.register_forward_hook(record(name)) for name, module in _leaves(model)]
    first = next(model.parameters(), None)
    x = torch.zeros((1,) + input_shape) if first is None else first.new_zeros((1,) + input_shape)
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    print_fn(f"{'layer':<24} {'type':<18} {'output shape':>20} {'parameters':>12}")
    print_fn(f"{'input':<24} {'':<18} {_format_shape(input_shape):>20} {'':>12}")
    for name, kind, shape, params in rows:
        print_fn(f"{name:<24} {kind:<18} {_format_shape(shape):>20} {params:>12,}")
    print_fn(f"total parameters: {count_parameters(model):,}")
    return rows


def gradient_flow(model, x, y, loss_fn=functional.cross_entropy):
    """Per-layer gradient norms of one forward and backward pass, from input to output.

    For every convolution and linear layer it records the norm of dL/dW (what the optimizer
    sees) and of dL/d(layer output) (the signal passed back through the layer). In a deep plain
    network both shrink toward the input; shortcuts keep them level. Uses ``torch.autograd.grad``,
    so the model's ``.grad`` fields are left untouched.

    Inputs: x (N, C, H, W) images and y (N,) labels on the model's device.
    Returns a list of dicts with keys 'layer', 'weight_grad' and 'output_grad'.
    """
    layers = [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    outputs = {}
    handles = [m.register_forward_hook(lambda m, i, out, name=name: outputs.setdefault(name, out))
               for name, m in layers]
    try:
        loss = loss_fn(model(x), y)
    finally:
        for handle in handles:
            handle.remove()
    modules = dict(layers)
    ran = [(name, modules[name]) for name in outputs]          # in the order they ran
    grads = torch.autograd.grad(loss, [m.weight for _, m in ran] + [outputs[name] for name, _ in ran])
    weight_grads, output_grads = grads[:len(ran)], grads[len(ran):]
    return [{"layer": name, "weight_grad": w.norm().item(), "output_grad": o.norm().item()}
            for (name, _), w, o in zip(ran, weight_grads, output_grads)]
