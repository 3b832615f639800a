"""``mlcourse train --model resnet18 --data digits|cifar10 --epochs N [--device DEVICE]``.

Trains one of ``mlcourse.models.MODELS`` (small-input variants) on the digits (1 x 8 x 8, no
download) or CIFAR-10 (3 x 32 x 32, fetched by ``mlcourse data fetch cifar10``), standardized with
the training set's per-channel mean and standard deviation. Every training option's default is
the library's own (``mlcourse.models.TrainConfig``), so the command and ``models.train`` agree.
"""
import dataclasses

from ..data import DEFAULT_ROOT

# TrainConfig field -> (choices, help); type and default come from TrainConfig itself
TRAIN_OPTIONS = {
    "epochs": (None, "number of epochs"),
    "batch_size": (None, "global batch size (split across processes)"),
    "lr": (None, "initial learning rate"),
    "optimizer": (("sgd", "adam"), "optimizer"),
    "momentum": (None, "SGD momentum"),
    "weight_decay": (None, "L2 weight decay"),
    "schedule": (("constant", "cosine"), "learning-rate schedule, per epoch"),
    "clip_norm": (None, "clip the global gradient norm to this value"),
    "seed": (None, "seed of the initialization, the shuffling and the dropout masks"),
}


def add_arguments(parser):
    """The options shared by ``mlcourse train`` and ``python -m mlcourse.models.train_ddp``."""
    from ..models import DATASETS, MODELS, TrainConfig

    parser.add_argument("--model", default="resnet18", choices=list(MODELS), help="architecture (default %(default)s)")
    parser.add_argument("--data", default="digits", choices=DATASETS, help="data set (default %(default)s)")
    defaults = TrainConfig()
    for field in dataclasses.fields(TrainConfig):
        if field.name not in TRAIN_OPTIONS:
            continue                    # amp: decided by the device
        choices, text = TRAIN_OPTIONS[field.name]
        default = getattr(defaults, field.name)
        kind = {"clip_norm": float}.get(field.name, type(default))
        parser.add_argument("--" + field.name.replace("_", "-"), type=kind, default=default, choices=choices,
                            help=f"{text} (default %(default)s)")
    parser.add_argument("--limit", type=int, default=None, help="train on the first LIMIT images only")
    parser.add_argument("--root", default=str(DEFAULT_ROOT), help="CIFAR-10 folder (default %(default)s)")
    parser.add_argument("--checkpoint", default=None, help="file for per-epoch checkpoints")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint if it exists")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def train_config(args):
    """The ``TrainConfig`` that parsed options ``args`` ask for."""
    from ..models import TrainConfig

    return TrainConfig(**{name: getattr(args, name) for name in TRAIN_OPTIONS})


def run_training(args, device=None):
    """Load the data, build the model (torch seeded with ``args.seed``) and train it.
    Returns (model, history)."""
    import torch

    from ..models import build_model, load_training_data, train

    config = train_config(args)
    train_data, val_data, num_classes, in_channels = load_training_data(args.data, args.root, args.limit)
    torch.manual_seed(config.seed)
    model = build_model(args.model, num_classes, in_channels)
    history = train(model, train_data, val_data, config, device=device, checkpoint=args.checkpoint,
                    resume=args.resume, progress=not args.quiet)
    return model, history


def report(args, history, where=None):
    """Print the final validation accuracy of a run."""
    where = f" ({where})" if where else ""
    print(f"{args.model} on {args.data}{where}: validation accuracy {history['val_acc'][-1]:.3f} "
          f"after {history['epoch'][-1]} epochs")


def add_parser(sub):
    parser = sub.add_parser("train", help="train a classic architecture on digits or CIFAR-10")
    add_arguments(parser)
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda when present)")
    parser.set_defaults(func=run)


def run(args):
    report(args, run_training(args, device=args.device)[1])
