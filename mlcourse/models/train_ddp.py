"""Data-parallel training with torch's DistributedDataParallel, launched by torchrun:

    torchrun --nproc_per_node 2 -m mlcourse.models.train_ddp --model resnet18 --data digits --epochs 3

Each process holds a replica of the model and takes its slice of every global batch
(``--batch-size`` is the global size); DDP averages the gradients across processes, so the
weights follow the same path as single-process training on the same global batches (batch-norm
statistics are the exception: each process normalizes over its own slice). The backend is nccl
with one GPU per process when CUDA is present, gloo on the CPU otherwise. Run without torchrun,
the script trains in one ordinary process. The options are ``mlcourse train``'s, with the
defaults of ``TrainConfig``; their parser is ``mlcourse.cli.train_ddp``.
"""
import os

import torch
from torch import distributed as dist


def run_distributed(work, backend=None):
    """Call ``work(device)`` in this process, inside the process group torchrun set up (one
    device per process: a GPU with nccl, the CPU with gloo), or alone when torchrun did not
    start it (device None: ``train`` picks one).

    Returns (result, where, is_first): ``work``'s result, a phrase such as '2 processes (gloo)'
    for reports, and whether this process is rank 0 (the one that reports).
    """
    if "WORLD_SIZE" not in os.environ:                 # not started by torchrun
        return work(None), "1 process", True
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    device = torch.device("cpu")
    if backend == "nccl":
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    dist.init_process_group(backend)
    try:
        result = work(device)
        return result, f"{dist.get_world_size()} processes ({backend})", dist.get_rank() == 0
    finally:
        dist.destroy_process_group()


def main(argv=None):
    """The torchrun entry: ``mlcourse.cli.train_ddp.main`` (options, then ``run_distributed``)."""
    from ..cli.train_ddp import main as cli_main   # the entry point only; the library above needs no CLI

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
