"""Training loop for the torch models: automatic device, mixed precision on CUDA, reproducible
seeding, a tqdm progress bar, gradient clipping, atomic per-epoch checkpoints with resume, and
data-parallel training when torch.distributed is initialized (see ``train_ddp``). The settings
are one ``TrainConfig``, shared by ``train``, ``mlcourse train`` and ``train_ddp``.

Data are pairs (X, y): X (N, C, H, W) images and y (N,) integer labels in [0, C_out), as NumPy
arrays or torch tensors; ``load_training_data`` gives them for the digits and CIFAR-10.
"""
import dataclasses
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import distributed as dist
from torch.nn import functional
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from .. import data
from ..atomic import atomic_open
from ..checks import check_labels, check_positive_int, check_rank
from ..device import default_device

HISTORY_KEYS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds")
DATASETS = ("digits", "cifar10")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run, with the one set of defaults of the course: SGD with
    momentum 0.9, lr 0.05 on a cosine schedule (what the course trains with, from the library,
    ``mlcourse train`` and ``train_ddp`` alike).

    - epochs: total number of epochs (a resumed run continues up to it)
    - lr: the initial learning rate; batch_size: the global batch (split across processes)
    - optimizer 'sgd' (with ``momentum``) or 'adam'; weight_decay (L2, in the optimizer)
    - schedule: 'cosine' (from lr down to 0 over ``epochs``) or 'constant', stepped per epoch
    - clip_norm: clip the global gradient norm to this value (None: off)
    - amp: mixed precision (float16 with loss scaling); None: on exactly when the device is CUDA
    - seed: fixes the shuffling and the dropout masks of every epoch (not the initialization)
    """
    epochs: int = 10
    lr: float = 0.05
    batch_size: int = 128
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    clip_norm: float | None = None
    amp: bool | None = None
    seed: int = 0

    def __post_init__(self):
        check_positive_int("epochs", self.epochs)
        check_positive_int("batch_size", self.batch_size)
        if not self.lr > 0:
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise ValueError(f"clip_norm must be None or a positive number, got {self.clip_norm!r}")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(f"schedule must be 'constant' or 'cosine', got {self.schedule!r}")

    @classmethod
    def fields(cls):
        """The field names, in order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def replace(self, **overrides):
        """A copy with ``overrides`` (field names); TypeError naming the fields for any other key."""
        unknown = sorted(set(overrides) - set(self.fields()))
        if unknown:
            raise TypeError(f"unknown training setting{'s' * (len(unknown) > 1)} {', '.join(unknown)}; "
                            f"TrainConfig's fields are {', '.join(self.fields())}")
        return dataclasses.replace(self, **overrides)


def load_training_data(name, root=data.DEFAULT_ROOT, limit=None, num_val=5000):
    """Float32 tensors for training: returns (train, val, num_classes, in_channels) with train
    and val pairs (X (N, C, H, W), y (N,)), standardized with the training images' per-channel
    mean and standard deviation. ``limit`` keeps the first ``limit`` training images; CIFAR-10
    holds out its last ``num_val`` training images for validation."""
    if name == "digits":
        d = data.load_digits(flatten=False)
        X_train, y_train, X_val, y_val = d["X_train"], d["y_train"], d["X_val"], d["y_val"]
    elif name == "cifar10":
        d = data.load_cifar10(root, dtype=np.float32)
        X_train, y_train = d["X_train"][:-num_val], d["y_train"][:-num_val]
        X_val, y_val = d["X_train"][-num_val:], d["y_train"][-num_val:]
    else:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    if limit is not None:
        limit = check_positive_int("limit", limit)
        X_train, y_train = X_train[:limit], y_train[:limit]
    mean = X_train.mean(axis=(0, 2, 3), keepdims=True)
    std = X_train.std(axis=(0, 2, 3), keepdims=True) + 1e-8

    def pair(X, y):
        return torch.as_tensor((X - mean) / std, dtype=torch.float32), torch.as_tensor(y)
    return pair(X_train, y_train), pair(X_val, y_val), 10, X_train.shape[1]


def _world():
    """(rank, world size): (0, 1) unless a process group is initialized."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _epoch_seed(seed, epoch, rank=0):
    """Seed for one epoch's shuffle (rank 0) and one process's dropout masks: a resumed run
    draws the same numbers as an uninterrupted one without saving any generator state."""
    return (seed * 1_000_003 + epoch) * 1_009 + rank


def _as_pair(name, data, model, device):
    """Validate (X, y) against the model before any training; return them as tensors."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(f"{name} must be a pair (X, y) with X (N, C, H, W) images and y (N,) labels, "
                         f"got {type(data).__name__}")
    X, y = (a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a)) for a in data)
    check_rank(f"{name} X", X, 4, "(N, C, H, W)")
    if len(X) == 0:
        raise ValueError(f"{name} is empty: X has shape {tuple(X.shape)}, training needs at least one image")
    param = next(model.parameters())
    X = X.to(param.dtype)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            scores = model(X[:1].to(device))
    except RuntimeError as err:
        raise ValueError(f"{name}: the model cannot take images of shape (C, H, W) = {tuple(X.shape[1:])}: "
                         f"{str(err).splitlines()[0]}") from err
    finally:
        model.train(was_training)
    if scores.dim() != 2:
        raise ValueError(f"the model must return scores of shape (N, C), got shape {tuple(scores.shape)}")
    check_labels(y.cpu().numpy(), len(X), scores.shape[1])
    return X, y.long()


def _make_optimizer(config, params):
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


def _make_schedule(config, optimizer):
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0)


def _check_same_config(path, saved, config):
    """Raise unless the config a checkpoint was written with matches ``config``. ``epochs`` may
    grow with the constant schedule (train on); cosine's curve depends on it, so it must match."""
    if saved is None:                   # a checkpoint from before configs were stored
        return
    current = dataclasses.asdict(config)
    differ = [k for k in current if saved.get(k) != current[k]
              and not (k == "epochs" and config.schedule == saved.get("schedule") == "constant")]
    if differ:
        listed = ", ".join(f"{k} {saved.get(k)!r} in the checkpoint, {current[k]!r} now" for k in differ)
        raise ValueError(f"checkpoint {path} was trained with other settings: {listed}; "
                         f"resume with the checkpoint's settings or start a new checkpoint")


def save_checkpoint(path, state):
    """torch.save ``state`` to ``path`` atomically: write a temporary file beside it, flush it to
    disk, then rename it over ``path``, so a crash leaves the previous checkpoint whole."""
    with atomic_open(path) as f:
        torch.save(state, f)


def load_checkpoint(path, device="cpu"):
    """Read a checkpoint written by ``train``: a dict with 'epoch' (epochs done), 'model',
    'optimizer', 'schedule', 'scaler' state dicts, 'history' and 'config' (a ``TrainConfig`` as
    a dict)."""
    return torch.load(path, map_location=device, weights_only=True)


def _run_epoch(net, batches, X, y, step, device, amp, rank, world, desc, progress):
    """One pass over ``batches`` of global indices; returns summed (loss, correct, count) over
    every process. Each process takes its slice of each global batch; the loss is scaled so that
    the averaged gradient equals the gradient of the mean loss over the whole global batch."""
    totals = torch.zeros(3, dtype=torch.float64, device=device)
    for idx in tqdm(batches, desc=desc, leave=False, disable=not progress or rank != 0):
        if step is not None and len(idx) < world:
            continue                        # too few images to give every process one
        mine = idx.tensor_split(world)[rank].to(X.device)
        if len(mine) == 0:
            continue
        xb = X[mine].to(device, non_blocking=True)
        yb = y[mine].to(device, non_blocking=True)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
            scores = net(xb)
        loss_sum = functional.cross_entropy(scores.float(), yb, reduction="sum")
        if step is not None:
            step(loss_sum * (world / len(idx)))
        totals[0] += loss_sum.detach()
        totals[1] += (scores.argmax(dim=1) == yb).sum()
        totals[2] += len(mine)
    if world > 1:
        dist.all_reduce(totals)
    return totals.tolist()


def train(model, train_data, val_data=None, config=None, *, device=None, checkpoint=None, resume=False,
          progress=True, **overrides):
    """Train ``model`` with the softmax cross-entropy loss, one checkpoint per epoch.

    Inputs:
    - model: an ``nn.Module`` mapping (N, C, H, W) images to (N, C_out) scores; moved to ``device``
    - train_data, val_data: pairs (X, y), X (N, C, H, W), y (N,) labels in [0, C_out);
      val_data may be None. Shapes and labels are checked against the model before training.
    - config: a ``TrainConfig`` (None: its defaults); ``overrides``: any of its fields by
      keyword, e.g. ``train(model, data, epochs=3, lr=0.1)``
    - device: None picks CUDA when present, else the CPU
    - checkpoint: path written atomically after every epoch, with the config it was trained
      with; resume=True continues from it when it exists (and starts afresh when it does not),
      after checking that the model and the config match it
    - progress: tqdm bar per epoch and one summary line per epoch

    With ``torch.distributed`` initialized (``train_ddp``), the model is wrapped in
    ``DistributedDataParallel``, each process takes its slice of every global batch, and only
    rank 0 writes checkpoints and prints.

    Returns the history: a dict of per-epoch lists under 'epoch', 'train_loss', 'train_acc',
    'val_loss', 'val_acc' (nan without val_data), 'lr', 'seconds'.
    """
    if config is not None and not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}; pass settings such "
                        f"as epochs and lr by keyword")
    config = (config or TrainConfig()).replace(**overrides)
    rank, world = _world()
    check_positive_int("batch_size", config.batch_size, minimum=world)
    if resume and checkpoint is None:
        raise ValueError("resume=True needs the checkpoint path to continue from, got checkpoint=None")
    device = torch.device(device) if device is not None else default_device()
    if config.amp is None:
        config = config.replace(amp=device.type == "cuda")
    if config.amp and device.type != "cuda":
        raise ValueError(f"mixed precision (amp=True) needs a CUDA device, got device {device}")
    model.to(device)
    X, y = _as_pair("train_data", train_data, model, device)
    if len(X) < world:
        raise ValueError(f"train_data has {len(X)} images, fewer than the {world} processes that share every batch")
    val = _as_pair("val_data", val_data, model, device) if val_data is not None else None

    opt = _make_optimizer(config, model.parameters())
    sched = _make_schedule(config, opt)
    scaler = torch.amp.GradScaler(device.type, enabled=config.amp)
    history = {key: [] for key in HISTORY_KEYS}
    start = 0
    if resume and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint, device)
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as err:
            raise ValueError(f"checkpoint {checkpoint} does not fit this model: {str(err).splitlines()[0]}") from err
        _check_same_config(checkpoint, state.get("config"), config)
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["schedule"])
        scaler.load_state_dict(state["scaler"])
        start, history = state["epoch"], state["history"]
    net = DistributedDataParallel(model) if world > 1 else model   # one device per process: no device_ids

    def step(loss):
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if config.clip_norm is not None:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
        scaler.step(opt)
        scaler.update()

    epochs, batch_size, amp = config.epochs, config.batch_size, config.amp
    for epoch in range(start, epochs):
        began = time.perf_counter()
        torch.manual_seed(_epoch_seed(config.seed, epoch, rank))
        order = torch.randperm(len(X), generator=torch.Generator().manual_seed(_epoch_seed(config.seed, epoch)))
        rate = opt.param_groups[0]["lr"]
        net.train()
        loss, correct, count = _run_epoch(net, order.split(batch_size), X, y, step, device, amp, rank, world,
                                          f"epoch {epoch + 1}/{epochs}", progress)
        sched.step()
        val_loss = val_acc = math.nan
        if val is not None:
            model.eval()
            with torch.no_grad():
                v_loss, v_correct, v_count = _run_epoch(model, torch.arange(len(val[0])).split(batch_size),
                                                        *val, None, device, amp, rank, world, "validation", progress)
            val_loss, val_acc = v_loss / v_count, v_correct / v_count
        row = (epoch + 1, loss / count, correct / count, val_loss, val_acc, rate, time.perf_counter() - began)
        for key, value in zip(HISTORY_KEYS, row):
            history[key].append(value)
        if rank == 0 and checkpoint is not None:
            save_checkpoint(checkpoint, {"epoch": epoch + 1, "model": model.state_dict(),
                                         "optimizer": opt.state_dict(), "schedule": sched.state_dict(),
                                         "scaler": scaler.state_dict(), "history": history,
                                         "config": dataclasses.asdict(config)})
        if rank == 0 and progress:
            tqdm.write(f"epoch {epoch + 1}/{epochs}: train loss {row[1]:.4f} acc {row[2]:.3f}, "
                       f"val loss {val_loss:.4f} acc {val_acc:.3f}, {row[6]:.1f} s")
    return history
