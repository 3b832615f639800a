"""Convolution speed, measured side by side in one run (issue 3).

x (100, 3, 31, 31), w (25, 3, 3, 3), stride 2, pad 1, float64, forward + backward:
- mlcourse.scratch fast (im2col) vs naive (loops): speedup, target >= 100x;
- fast vs torch.nn.functional.conv2d on CPU, same dtype: time ratio, target <= 1.0;
- max pooling 2x2 stride 2 on the conv output (100, 25, 16, 16): fast vs torch.max_pool2d.

Timings interleave the contestants and keep the best and the median of many repeats, so a
busy machine slows both sides alike. ``--threads T`` limits both NumPy's BLAS and torch to T
threads (by default both use what they find). Run:

    python benchmarks/conv.py [--repeats 50] [--threads T]
"""
import argparse
import os
import platform
import sys
import time

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--threads", type=int, default=None, help="BLAS and torch threads (default: as is)")
    ARGS = parser.parse_args()
    if ARGS.threads:                      # BLAS reads these once, when NumPy is first imported
        os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
        os.environ["MKL_NUM_THREADS"] = str(ARGS.threads)
    assert "numpy" not in sys.modules, "set the thread counts before NumPy is imported"

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from mlcourse.gradcheck import rel_error  # noqa: E402
from mlcourse.scratch import (  # noqa: E402
    conv_backward_fast,
    conv_backward_naive,
    conv_forward_fast,
    conv_forward_naive,
    max_pool_backward_fast,
    max_pool_forward_fast,
)


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def race(contestants, repeats):
    """Run each contestant once per round, ``repeats`` rounds; return {name: sorted times}."""
    times = {name: [] for name in contestants}
    for _ in range(repeats):
        for name, fn in contestants.items():
            times[name].append(timed(fn)[0])
    return {name: sorted(t) for name, t in times.items()}


def torch_fwd_bwd(op, inputs, dout):
    """Forward + backward of a torch op; returns the output and the input gradients as NumPy."""
    leaves = [torch.tensor(a, requires_grad=True) for a in inputs]
    out = op(*leaves)
    out.backward(torch.from_numpy(dout))
    return [out.detach().numpy()] + [t.grad.numpy() for t in leaves]


def main(args):
    if args.threads:
        torch.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 3, 31, 31))
    w = rng.standard_normal((25, 3, 3, 3))
    b = rng.standard_normal(25)
    stride, pad = 2, 1
    dout = rng.standard_normal((100, 25, 16, 16))

    def fast():
        out, cache = conv_forward_fast(x, w, b, stride, pad)
        return [out, *conv_backward_fast(dout, cache)]

    def naive():
        out, cache = conv_forward_naive(x, w, b, stride, pad)
        return [out, *conv_backward_naive(dout, cache)]

    def reference():
        return torch_fwd_bwd(lambda x_, w_, b_: F.conv2d(x_, w_, b_, stride=stride, padding=pad), (x, w, b), dout)

    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"numpy {np.__version__} (BLAS threads: {blas}), torch {torch.__version__} with "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs, {platform.machine()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("convolution x (100, 3, 31, 31), w (25, 3, 3, 3), stride 2, pad 1, float64, forward + backward")
    t_naive, naive_result = timed(naive)
    fast_result, torch_result = fast(), reference()
    for name, ours, theirs in zip(("out", "dx", "dw", "db"), fast_result, torch_result):
        assert rel_error(ours, theirs) < 1e-9, f"fast {name} disagrees with torch"
    for name, ours, slow in zip(("out", "dx", "dw", "db"), fast_result, naive_result):
        assert rel_error(ours, slow) < 1e-9, f"fast {name} disagrees with naive"

    times = race({"fast": fast, "torch": reference}, args.repeats)
    best, median = ({k: v[0] for k, v in times.items()}, {k: v[len(v) // 2] for k, v in times.items()})
    print(f"  naive   {t_naive * 1e3:9.1f} ms (one run)")
    print(f"  fast    {best['fast'] * 1e3:9.2f} ms best, {median['fast'] * 1e3:.2f} ms median of {args.repeats}")
    print(f"  torch   {best['torch'] * 1e3:9.2f} ms best, {median['torch'] * 1e3:.2f} ms median of {args.repeats}")
    print(f"  speedup fast vs naive: {t_naive / best['fast']:.0f}x (target >= 100x)")
    print(f"  ratio fast / torch: {best['fast'] / best['torch']:.2f} best, "
          f"{median['fast'] / median['torch']:.2f} median (target <= 1.0)")

    pooled = conv_forward_fast(x, w, b, stride, pad)[0]        # (100, 25, 16, 16)
    dpool = rng.standard_normal((100, 25, 8, 8))

    def pool_fast():
        out, cache = max_pool_forward_fast(pooled, 2, 2, 2)
        return [out, max_pool_backward_fast(dpool, cache)]

    def pool_torch():
        return torch_fwd_bwd(lambda p: F.max_pool2d(p, 2, 2), (pooled,), dpool)

    for ours, theirs in zip(pool_fast(), pool_torch()):
        assert rel_error(ours, theirs) < 1e-12, "fast max pool disagrees with torch"
    times = race({"fast": pool_fast, "torch": pool_torch}, args.repeats)
    best, median = ({k: v[0] for k, v in times.items()}, {k: v[len(v) // 2] for k, v in times.items()})
    print("max pool 2x2 stride 2 on (100, 25, 16, 16), float64, forward + backward")
    print(f"  fast    {best['fast'] * 1e3:9.2f} ms best, {median['fast'] * 1e3:.2f} ms median")
    print(f"  torch   {best['torch'] * 1e3:9.2f} ms best, {median['torch'] * 1e3:.2f} ms median")
    print(f"  ratio fast / torch: {best['fast'] / best['torch']:.2f} best, "
          f"{median['fast'] / median['torch']:.2f} median")


if __name__ == "__main__":
    main(ARGS)
