"""GPU evidence for issue 4, measured side by side in one run on one CUDA device.

1. Convolution forward + backward: ``mlcourse.gpu.conv_forward_fast``/``conv_backward_fast``
   (unfold, matrix products, fold) against ``torch.nn.functional.conv2d`` with autograd, on the
   same tensors; the ratio is our time over torch's (1.0 = as fast, 2.0 = twice as slow).
2. ResNet-18 (``small_input=True``) training throughput on 32x32 images at batch 512, through
   ``mlcourse.models.train``, in mixed precision and, for comparison, in float32 (images/s).

    python benchmarks/gpu.py [--repeat 20] [--steps 40] [--device cuda:0]

Without CUDA it prints why nothing was measured and exits 0 (``--device cpu`` tries the script
on the CPU). Paste the printed table into
benchmarks/RESULTS.md with the device name.
"""
import argparse
import statistics
import sys
import time

import torch
from torch.nn import functional

from mlcourse import gpu
from mlcourse.models import resnet18, train

# (label, x shape, w shape, stride, pad, dtype)
CONV_CASES = [
    ("issue 3 shape", (100, 3, 31, 31), (25, 3, 3, 3), 2, 1, torch.float64),
    ("issue 3 shape", (100, 3, 31, 31), (25, 3, 3, 3), 2, 1, torch.float32),
    ("ResNet stage 1", (128, 64, 32, 32), (64, 64, 3, 3), 1, 1, torch.float32),
    ("ResNet stage 3", (128, 256, 8, 8), (256, 256, 3, 3), 1, 1, torch.float32),
]


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_pair(first, second, repeat, device):
    """Median wall times (seconds) of first() and second(), run alternately ``repeat`` times after
    two warm-up rounds, so that clock changes and other load slow both alike."""
    times = ([], [])
    for round_ in range(repeat + 2):
        for fn, bucket in zip((first, second), times):
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            if round_ >= 2:
                bucket.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def conv_times(x_shape, w_shape, stride, pad, dtype, repeat, device):
    """(our seconds, torch's seconds) for one forward + backward on the same inputs, after
    checking that both give the same gradients."""
    x, w, b = (torch.randn(shape, device=device, dtype=dtype) for shape in (x_shape, w_shape, w_shape[:1]))
    leaves = [t.clone().requires_grad_() for t in (x, w, b)]

    def ours():
        out, cache = gpu.conv_forward_fast(x, w, b, stride=stride, pad=pad)
        return gpu.conv_backward_fast(torch.ones_like(out), cache)

    def theirs():
        out = functional.conv2d(*leaves, stride=stride, padding=pad)
        return torch.autograd.grad(out, leaves, torch.ones_like(out))

    tol = 1e-9 if dtype == torch.float64 else 1e-2
    for got, want in zip(ours(), theirs()):
        torch.testing.assert_close(got, want, rtol=tol, atol=tol * want.abs().max().item())
    return timed_pair(ours, theirs, repeat, device)


def resnet18_throughput(steps, batch_size, amp, device):
    """Images per second of the second of two epochs of ``steps`` batches of 32x32 images."""
    torch.manual_seed(0)
    X = torch.randn(steps * batch_size, 3, 32, 32, device=device)
    y = torch.randint(10, (steps * batch_size,), device=device)
    model = resnet18(num_classes=10, small_input=True)
    history = train(model, (X, y), None, epochs=2, lr=0.1, batch_size=batch_size, device=device, amp=amp,
                    progress=False)
    return len(X) / history["seconds"][-1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per convolution (median)")
    parser.add_argument("--steps", type=int, default=40, help="batches per ResNet-18 epoch")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--device", default="cuda", help="cuda (default) or cuda:N; cpu only to try the script")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("benchmarks/gpu.py: CUDA is not available on this machine, so nothing was measured. "
              "Run it on a machine with an NVIDIA GPU.")
        return 0
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        print(f"device: {torch.cuda.get_device_name(device)}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
              f"TF32 for conv {torch.backends.cudnn.allow_tf32}, for matmul {torch.backends.cuda.matmul.allow_tf32}")
    else:
        print(f"device: CPU, torch {torch.__version__} (a trial run: the figures that count come from CUDA)")
    print("\n| convolution, forward + backward | dtype | mlcourse.gpu | F.conv2d | ratio |")
    print("| --- | --- | ---: | ---: | ---: |")
    for label, x_shape, w_shape, stride, pad, dtype in CONV_CASES:
        ours, theirs = conv_times(x_shape, w_shape, stride, pad, dtype, args.repeat, device)
        what = f"{label}: x {x_shape}, w {w_shape}, stride {stride}, pad {pad}"
        print(f"| {what} | {str(dtype).split('.')[-1]} | {ours * 1e3:.3f} ms | {theirs * 1e3:.3f} ms | "
              f"{ours / theirs:.2f} |", flush=True)
    print(f"\n| ResNet-18 training, 32x32, batch {args.batch_size} | images/s |")
    print("| --- | ---: |")
    for amp in ((True, False) if device.type == "cuda" else (False,)):
        rate = resnet18_throughput(args.steps, args.batch_size, amp, device)
        print(f"| {'mixed precision (float16 autocast)' if amp else 'float32'} | {rate:,.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
