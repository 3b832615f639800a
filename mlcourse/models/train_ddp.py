"""Data-parallel training with torch's DistributedDataParallel, launched by torchrun:

    torchrun --nproc_per_node 2 -m mlcourse.models.train_ddp --model resnet18 --data digits --epochs 3

Each process holds a replica of the model and takes its slice of every global batch
(``--batch-size`` is the global size); DDP averages the gradients across processes, so the
weights follow the same path as single-process training on the same global batches (batch-norm
statistics are the exception: each process normalizes over its own slice). The backend is nccl
with one GPU per process when CUDA is present, gloo on the CPU otherwise. Run without torchrun,
the script trains in one ordinary process.
"""
import argparse
import os

import torch
from torch import distributed as dist

from ..train_cli import add_arguments, report, run_training


def main(argv=None):
    parser = argparse.ArgumentParser(prog="torchrun --nproc_per_node N -m mlcourse.models.train_ddp",
                                     description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--backend", choices=["gloo", "nccl"], default=None,
                        help="default: nccl when CUDA is present, else gloo")
    args = parser.parse_args(argv)
    if "WORLD_SIZE" not in os.environ:                 # not started by torchrun
        report(args, run_training(args)[1], "1 process")
        return 0
    backend = args.backend or ("nccl" if torch.cuda.is_available() else "gloo")
    device = torch.device("cpu")
    if backend == "nccl":
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    dist.init_process_group(backend)
    try:
        history = run_training(args, device=device)[1]
        if dist.get_rank() == 0:
            report(args, history, f"{dist.get_world_size()} processes ({backend})")
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
