"""``mlcourse train --model resnet18 --data digits|cifar10 --epochs N [--device DEVICE]``.

Trains one of ``mlcourse.models.MODELS`` (small-input variants) on the digits (1 x 8 x 8, no
download) or CIFAR-10 (3 x 32 x 32, fetched by ``mlcourse data fetch cifar10``), standardized with
the training set's per-channel mean and standard deviation.
"""
import numpy as np
import torch

from . import data
from .scratch.checks import check_positive_int

DATASETS = ("digits", "cifar10")


def load_training_data(name, root=data.DEFAULT_ROOT, limit=None, num_val=5000):
    """Float32 tensors for training: returns (train, val, num_classes, in_channels) with train
    and val pairs (X (N, C, H, W), y (N,)). ``limit`` keeps the first ``limit`` training images;
    CIFAR-10 holds out its last ``num_val`` training images for validation."""
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
    pair = lambda X, y: (torch.as_tensor((X - mean) / std, dtype=torch.float32), torch.as_tensor(y))
    return pair(X_train, y_train), pair(X_val, y_val), 10, X_train.shape[1]


def add_arguments(parser):
    """The options shared by ``mlcourse train`` and ``python -m mlcourse.models.train_ddp``."""
    from .models import MODELS

    parser.add_argument("--model", default="resnet18", choices=list(MODELS), help="architecture (default %(default)s)")
    parser.add_argument("--data", default="digits", choices=DATASETS, help="data set (default %(default)s)")
    parser.add_argument("--epochs", type=int, default=10, help="number of epochs (default %(default)s)")
    parser.add_argument("--batch-size", type=int, default=128, help="global batch size (default %(default)s)")
    parser.add_argument("--lr", type=float, default=0.05, help="learning rate (default %(default)s)")
    parser.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"])
    parser.add_argument("--schedule", default="cosine", choices=["constant", "cosine"])
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--clip-norm", type=float, default=None, help="clip the gradient norm to this value")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="train on the first LIMIT images only")
    parser.add_argument("--root", default=str(data.DEFAULT_ROOT), help="CIFAR-10 folder (default %(default)s)")
    parser.add_argument("--checkpoint", default=None, help="file for per-epoch checkpoints")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint if it exists")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run_training(args, device=None):
    """Load the data, build the model (torch seeded with ``args.seed``) and train it.
    Returns (model, history)."""
    from .models import build_model, train

    train_data, val_data, num_classes, in_channels = load_training_data(args.data, args.root, args.limit)
    torch.manual_seed(args.seed)
    model = build_model(args.model, num_classes, in_channels)
    history = train(model, train_data, val_data, args.epochs, args.lr, args.batch_size, optimizer=args.optimizer,
                    weight_decay=args.weight_decay, schedule=args.schedule, clip_norm=args.clip_norm,
                    device=device, seed=args.seed, checkpoint=args.checkpoint, resume=args.resume,
                    progress=not args.quiet)
    return model, history


def add_parser(sub):
    parser = sub.add_parser("train", help="train a classic architecture on digits or CIFAR-10")
    add_arguments(parser)
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda when present)")
    parser.set_defaults(func=run)


def report(args, history, where=None):
    """Print the final validation accuracy of a run."""
    where = f" ({where})" if where else ""
    print(f"{args.model} on {args.data}{where}: validation accuracy {history['val_acc'][-1]:.3f} "
          f"after {history['epoch'][-1]} epochs")


def run(args):
    report(args, run_training(args, device=args.device)[1])
