"""First-order update rules: ``update(w, dw, config=None) -> (next_w, config)``.

w and dw are arrays of the same shape; ``config`` holds the hyperparameters (defaults filled in
on the first call) and the rule's state (velocity, moment estimates), carried from step to step.
Every rule defaults to learning_rate 1e-2.
"""
import numpy as np


def _config(w, dw, config, **defaults):
    if np.shape(w) != np.shape(dw):
        raise ValueError(f"dw must have w's shape {np.shape(w)}, got shape {np.shape(dw)}")
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    for key, value in defaults.items():
        config.setdefault(key, value)
    return config


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: w - learning_rate * dw."""
    config = _config(w, dw, config)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum: a velocity v = momentum * v - learning_rate * dw accumulates the
    gradients, and w moves by v.

    config: learning_rate, momentum (0.9), velocity (zeros like w at first).
    """
    config = _config(w, dw, config, momentum=0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def rmsprop(w, dw, config=None):
    """RMSProp: divide each step by a running root mean square of that parameter's gradients.

    config: learning_rate, decay_rate (0.99), epsilon (1e-8), cache (zeros like w at first).
    """
    config = _config(w, dw, config, decay_rate=0.99, epsilon=1e-8)
    cache = config.get("cache", np.zeros_like(w))
    cache = config["decay_rate"] * cache + (1 - config["decay_rate"]) * dw ** 2
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def adam(w, dw, config=None):
    """Adam: momentum on the gradient (first moment m) and RMSProp scaling (second moment v),
    both corrected for their start at zero.

    config: learning_rate, beta1 (0.9), beta2 (0.999), epsilon (1e-8), m and v (zeros like w at
    first), t (the step count, 0 at first, incremented before it is used).
    """
    config = _config(w, dw, config, beta1=0.9, beta2=0.999, epsilon=1e-8)
    config["t"] = config.get("t", 0) + 1
    t, beta1, beta2 = config["t"], config["beta1"], config["beta2"]
    config["m"] = beta1 * config.get("m", np.zeros_like(w)) + (1 - beta1) * dw
    config["v"] = beta2 * config.get("v", np.zeros_like(w)) + (1 - beta2) * dw ** 2
    m_hat = config["m"] / (1 - beta1 ** t)
    v_hat = config["v"] / (1 - beta2 ** t)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config
