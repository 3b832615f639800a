"""The command line of ``torchrun --nproc_per_node N -m mlcourse.models.train_ddp``: the options of
``mlcourse train`` (same defaults, from ``TrainConfig``) and ``--backend``; the distributed set-up
is ``mlcourse.models.train_ddp.run_distributed``."""
import argparse

from .train import add_arguments, report, run_training


def build_parser():
    parser = argparse.ArgumentParser(prog="torchrun --nproc_per_node N -m mlcourse.models.train_ddp",
                                     description="Data-parallel training with torch's DistributedDataParallel.")
    add_arguments(parser)
    parser.add_argument("--backend", choices=["gloo", "nccl"], default=None,
                        help="default: nccl when CUDA is present, else gloo")
    return parser


def main(argv=None):
    """Parse ``argv`` and train, in every process torchrun started (or in this one); rank 0
    reports. Returns the exit status."""
    from ..models.train_ddp import run_distributed

    args = build_parser().parse_args(argv)
    history, where, is_first = run_distributed(lambda device: run_training(args, device)[1], args.backend)
    if is_first:
        report(args, history, where)
    return 0
