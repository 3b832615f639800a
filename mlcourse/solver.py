"""Minibatch training of a classification model with an update rule ``(w, dw, config) -> (next_w, config)``:
your own, or one named in ``mlcourse.scratch.optim`` where the package has it (not in the student
package, whose exercises write the rules).

The model needs ``params`` (dict of arrays) and ``loss(X, y=None)`` returning scores (N, C)
without labels and ``(loss, grads)`` with them, grads keyed like params.

Example::

    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    lr_decay=0.95, batch_size=100, num_epochs=10, clip_norm=5.0)
    solver.train()
    solver.best_val_acc, solver.loss_history   # model.params now holds the best parameters
"""
import pickle

import numpy as np
from tqdm.auto import tqdm

from .atomic import atomic_open

RULES = ("sgd", "sgd_momentum", "rmsprop", "adam")


def global_norm(grads):
    """sqrt of the sum of squares of every entry of every gradient in the dict ``grads``."""
    return float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values())))


def clip_by_global_norm(grads, clip_norm):
    """Scale all gradients by one factor so that their global norm is at most ``clip_norm``.

    The direction of the whole update is kept; only its length shrinks. Returns (grads, norm)
    with norm the global norm before clipping.
    """
    norm = global_norm(grads)
    if clip_norm is not None and norm > clip_norm:
        grads = {name: g * (clip_norm / norm) for name, g in grads.items()}
    return grads, norm


def atomic_pickle(obj, path):
    """Pickle ``obj`` to ``path`` whole or not at all (see ``mlcourse.atomic.atomic_open``)."""
    with atomic_open(path) as f:
        pickle.dump(obj, f)


def _named_rule(name):
    if name not in RULES:
        raise ValueError(f"update_rule must be one of {', '.join(map(repr, RULES))} or a function, got {name!r}")
    try:
        from .scratch import optim
    except ImportError:  # the student package: the rules are the exercises' to write
        raise ValueError(f"this package has no update rule {name!r}: pass your own function "
                         f"(w, dw, config) -> (next_w, config), e.g. update_rule={name}") from None
    return getattr(optim, name)


class Solver:
    """Trains ``model`` on ``data`` by minibatch gradient descent.

    Inputs:
    - model: an object with ``params`` and ``loss`` (see the module docstring)
    - data: dict with 'X_train' (N_train, ...), 'y_train' (N_train,), 'X_val', 'y_val'

    Keyword-only arguments:
    - update_rule: a name in ``mlcourse.scratch.optim`` ('sgd', 'sgd_momentum', 'rmsprop',
      'adam') or a function ``(w, dw, config) -> (next_w, config)``; default 'sgd'
    - optim_config: hyperparameters given to the update rule, e.g. {'learning_rate': 1e-3}
    - lr_decay: the learning rate is multiplied by this after every epoch (default 1.0)
    - batch_size (100), num_epochs (10)
    - num_train_samples: training examples used to estimate training accuracy (1000);
      num_val_samples: validation examples (None: all)
    - print_every: print the loss every this many iterations when verbose (10)
    - verbose: print progress and show a tqdm progress bar (True)
    - clip_norm: rescale the gradients whenever their global norm exceeds this (None: never)
    - checkpoint_name: if given, pickle the solver state to '<checkpoint_name>_epoch_<e>.pkl'
      after every epoch, written atomically
    - seed: seeds the minibatch sampling (None: fresh randomness)

    After ``train()``: loss_history (one per iteration), grad_norm_history (global norms
    before clipping), train_acc_history and val_acc_history (one per epoch, plus the start),
    best_val_acc, best_params; model.params holds the best parameters.
    """

    def __init__(self, model, data, *, update_rule="sgd", optim_config=None, lr_decay=1.0, batch_size=100,
                 num_epochs=10, num_train_samples=1000, num_val_samples=None, checkpoint_name=None,
                 print_every=10, verbose=True, clip_norm=None, seed=None):
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.update_rule = update_rule
        self.optim_config = dict(optim_config or {})
        self.lr_decay = lr_decay
        self.batch_size = batch_size
        self.num_epochs = num_epochs
        self.num_train_samples = num_train_samples
        self.num_val_samples = num_val_samples
        self.checkpoint_name = checkpoint_name
        self.print_every = print_every
        self.verbose = verbose
        self.clip_norm = clip_norm
        self.rng = np.random.default_rng(seed)
        if isinstance(self.update_rule, str):
            self.update_rule = _named_rule(self.update_rule)
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise ValueError(f"clip_norm must be positive or None, got {self.clip_norm}")
        if len(self.X_train) != len(self.y_train) or len(self.X_val) != len(self.y_val):
            raise ValueError(f"X and y must have one label per example, got X_train {np.shape(self.X_train)}, "
                             f"y_train {np.shape(self.y_train)}, X_val {np.shape(self.X_val)}, "
                             f"y_val {np.shape(self.y_val)}")
        self._reset()

    def _reset(self):
        self.epoch = 0
        self.best_val_acc = 0.0
        self.best_params = {}
        self.loss_history = []
        self.grad_norm_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}

    def _step(self):
        """One update on a random minibatch."""
        num_train = len(self.X_train)
        idx = self.rng.choice(num_train, self.batch_size, replace=self.batch_size > num_train)
        loss, grads = self.model.loss(self.X_train[idx], self.y_train[idx])
        grads, norm = clip_by_global_norm(grads, self.clip_norm)
        self.loss_history.append(float(loss))
        self.grad_norm_history.append(norm)
        for name, w in self.model.params.items():
            next_w, self.optim_configs[name] = self.update_rule(w, grads[name], self.optim_configs[name])
            self.model.params[name] = next_w

    def _save_checkpoint(self):
        if self.checkpoint_name is None:
            return
        state = {
            "model": self.model,
            "update_rule": self.update_rule,
            "lr_decay": self.lr_decay,
            "optim_config": self.optim_config,
            "batch_size": self.batch_size,
            "num_train_samples": self.num_train_samples,
            "num_val_samples": self.num_val_samples,
            "epoch": self.epoch,
            "loss_history": self.loss_history,
            "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history,
        }
        atomic_pickle(state, f"{self.checkpoint_name}_epoch_{self.epoch}.pkl")

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Fraction of the examples (a random subset of num_samples, if given) that the model
        labels correctly, scored in batches of batch_size."""
        if num_samples is not None and len(X) > num_samples:
            idx = self.rng.choice(len(X), num_samples, replace=False)
            X, y = X[idx], y[idx]
        predictions = [np.argmax(self.model.loss(X[i:i + batch_size]), axis=1)
                       for i in range(0, len(X), batch_size)]
        return float(np.mean(np.concatenate(predictions) == y))

    def _record_accuracy(self, bar):
        train_acc = self.check_accuracy(self.X_train, self.y_train, self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        self._save_checkpoint()
        if self.verbose:
            bar.write(f"(epoch {self.epoch} / {self.num_epochs}) train acc {train_acc:.3f}; val acc {val_acc:.3f}")
        if val_acc > self.best_val_acc or not self.best_params:
            self.best_val_acc = val_acc
            self.best_params = {name: w.copy() for name, w in self.model.params.items()}

    def train(self):
        """Run num_epochs epochs of minibatch updates; afterwards model.params holds the
        parameters that scored the best validation accuracy."""
        iterations_per_epoch = max(len(self.X_train) // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        with tqdm(total=num_iterations, disable=not self.verbose, desc="training") as bar:
            self._record_accuracy(bar)                      # the start, before any update
            for t in range(num_iterations):
                self._step()
                bar.update(1)
                bar.set_postfix(loss=f"{self.loss_history[-1]:.4f}", refresh=False)
                if self.verbose and t % self.print_every == 0:
                    bar.write(f"(iteration {t + 1} / {num_iterations}) loss: {self.loss_history[-1]:f}")
                if (t + 1) % iterations_per_epoch == 0:
                    self.epoch += 1
                    for config in self.optim_configs.values():
                        config["learning_rate"] = config.get("learning_rate", 1e-2) * self.lr_decay
                    self._record_accuracy(bar)
        self.model.params = self.best_params
