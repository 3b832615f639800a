"""Data sets for the course: real digits shipped with scikit-learn, a 5,000-image sample of
MNIST shipped with this package, small synthetic sets, preprocessing helpers, and CIFAR-10
(loaded from disk, fetched by ``mlcourse data fetch``).

Images are (N, C, H, W); flat features are (N, D); labels are (N,) integers.
"""
import hashlib
import http.client
import importlib.resources
import os
import pickle
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from .atomic import replace_dir
from .errors import MissingPath, SetupError

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_DIR = "cifar-10-batches-py"
CIFAR10_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
DEFAULT_ROOT = Path(os.environ.get("MLCOURSE_DATA", Path.home() / ".mlcourse" / "data"))
MNIST_SAMPLE = "datasets/mnist_5k.npz"     # inside the package; source and licence in datasets/README.md


def _split(X, y, num_val, num_test, flatten):
    """The first num_test examples of X (N, 1, H, W), y (N,) are the test set, the next num_val the
    validation set, the rest the training set; X flattened to (N, H * W) when ``flatten``."""
    if flatten:
        X = X.reshape(len(X), -1)
    test, val = slice(0, num_test), slice(num_test, num_test + num_val)
    train = slice(num_test + num_val, None)
    return {"X_train": X[train], "y_train": y[train], "X_val": X[val], "y_val": y[val],
            "X_test": X[test], "y_test": y[test]}


def load_digits(num_val=200, num_test=300, flatten=True, seed=0):
    """scikit-learn's 1,797 real 8x8 handwritten digits, split deterministically.

    Pixels are float64 in [0, 16]. Returns a dict with X_train, y_train, X_val, y_val,
    X_test, y_test: X of shape (N, 64) when ``flatten`` else (N, 1, 8, 8); y of shape (N,).
    """
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    X = digits.images.astype(np.float64)[:, None, :, :]
    y = digits.target.astype(np.int64)
    if num_val + num_test >= len(y):
        raise ValueError(f"num_val + num_test must leave training data: {num_val} + {num_test} >= {len(y)}")
    order = np.random.default_rng(seed).permutation(len(y))
    X, y = X[order], y[order]
    return _split(X, y, num_val, num_test, flatten)


def load_mnist_sample(num_val=500, num_test=1000, flatten=True, seed=0):
    """5,000 real 28x28 handwritten digits from MNIST (500 per digit), split by a seeded,
    stratified draw.

    The images ship inside the package (``mlcourse/datasets/mnist_5k.npz``; its README states
    the source and licence). Pixels are float64 in [0, 1] (0 = background, 1 = full ink).
    Returns a dict with X_train, y_train, X_val, y_val, X_test, y_test: X of shape (N, 784)
    when ``flatten`` else (N, 1, 28, 28); y of shape (N,), int64. With the defaults N is 3500,
    500 and 1000.

    The split is stratified: the images of each digit are shuffled (by ``seed``) and dealt out
    one digit after another, so every split, and every prefix of a split such as
    ``X_train[:1000]``, holds each digit equally often, give or take one.
    """
    for name, value in (("num_val", num_val), ("num_test", num_test)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    try:
        with importlib.resources.files(__package__).joinpath(MNIST_SAMPLE).open("rb") as f, \
                np.load(f) as npz:
            images, labels = npz["images"], npz["labels"].astype(np.int64)
    except FileNotFoundError as err:
        raise MissingPath(f"the MNIST sample mlcourse/{MNIST_SAMPLE} is not in this installation of mlcourse "
                          f"({err.strerror}). Install mlcourse from the course repository (pip install -e . "
                          "in a clone), or use mlcourse.data.load_digits(), which needs no file of its own.") from err
    if num_val + num_test >= len(labels):
        raise ValueError(f"num_val + num_test must leave training data: {num_val} + {num_test} >= {len(labels)}")
    rng = np.random.default_rng(seed)
    # rank of each image within its digit after a shuffle, then deal: all rank-0 images (in a
    # shuffled digit order), then all rank-1 images, ...
    rank = np.empty(len(labels), dtype=np.int64)
    for digit in np.unique(labels):
        members = np.flatnonzero(labels == digit)
        rank[rng.permutation(members)] = np.arange(len(members))
    order = np.lexsort((rng.random(len(labels)), rank))
    X = images[order].astype(np.float64)[:, None, :, :] / 255.0
    y = labels[order]
    return _split(X, y, num_val, num_test, flatten)


def make_spiral(num_per_class=100, num_classes=3, noise=0.2, seed=0):
    """Interleaved 2-D spiral arms, one per class: not linearly separable.

    Returns X (N, 2) and y (N,) with N = num_per_class * num_classes.
    """
    rng = np.random.default_rng(seed)
    X = np.zeros((num_per_class * num_classes, 2))
    y = np.zeros(num_per_class * num_classes, dtype=np.int64)
    radius = np.linspace(0.0, 1.0, num_per_class)
    for c in range(num_classes):
        rows = slice(c * num_per_class, (c + 1) * num_per_class)
        angle = np.linspace(c * 4.0, (c + 1) * 4.0, num_per_class) + rng.standard_normal(num_per_class) * noise
        X[rows] = np.c_[radius * np.sin(angle), radius * np.cos(angle)]
        y[rows] = c
    return X, y


def make_blobs(num_per_class=100, num_classes=3, spread=0.5, seed=0):
    """Gaussian clusters on a circle, one per class: linearly separable. Returns X (N, 2), y (N,)."""
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(num_classes) / num_classes
    centers = 2.0 * np.c_[np.cos(angles), np.sin(angles)]
    y = np.repeat(np.arange(num_classes), num_per_class)
    X = centers[y] + spread * rng.standard_normal((len(y), 2))
    return X, y


def subtract_mean(X_train, *others):
    """Center every array on the training mean image.

    Returns (mean, X_train - mean, *[X - mean for X in others]); mean has X_train.shape[1:].
    """
    mean = X_train.mean(axis=0)
    return (mean, X_train - mean, *[X - mean for X in others])


def add_bias_column(X):
    """Append a column of ones: X (N, D) -> (N, D + 1), so that b becomes the last row of W."""
    if X.ndim != 2:
        raise ValueError(f"X must have shape (N, D), got shape {X.shape}")
    return np.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)])


def _missing_cifar10(root, missing):
    return MissingPath(
        f"CIFAR-10 is not in {root} (missing {CIFAR10_DIR}/{missing}). Fetch it (170 MB, once) with:\n"
        f"    mlcourse data fetch cifar10 --root {root}\n"
        "or use the digits data set, which needs no download: mlcourse.data.load_digits()."
    )


def _load_cifar10_batch(path, dtype):
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    X = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).astype(dtype)
    y = np.asarray(batch[b"labels"], dtype=np.int64)
    return X, y


def load_cifar10(root=DEFAULT_ROOT, dtype=np.float64):
    """Read CIFAR-10's python-pickle batches from ``root/cifar-10-batches-py``.

    Returns a dict: X_train (50000, 3, 32, 32), y_train (50000,), X_test (10000, 3, 32, 32),
    y_test (10000,), pixels 0-255 as ``dtype``, and class_names.
    """
    folder = Path(root) / CIFAR10_DIR
    missing = [name for name in CIFAR10_BATCHES if not (folder / name).exists()]
    if missing:
        raise _missing_cifar10(root, ", ".join(missing))
    *train, (X_test, y_test) = [_load_cifar10_batch(folder / name, dtype) for name in CIFAR10_BATCHES]
    return {"X_train": np.concatenate([X for X, _ in train]),
            "y_train": np.concatenate([y for _, y in train]),
            "X_test": X_test, "y_test": y_test, "class_names": CIFAR10_CLASSES}


def md5sum(path, chunk=1 << 20):
    """Hex md5 digest of the file at ``path``, read ``chunk`` bytes at a time."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(url, part, progress):
    """Append the rest of ``url`` to ``part``, resuming from its current size. A transfer that
    stops short raises RuntimeError and keeps ``part``, so the next call resumes it."""
    from tqdm import tqdm

    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as err:
        if err.code == 416:          # range not satisfiable: the partial file is already whole
            return
        raise SetupError(f"download of {url} failed: HTTP {err.code} {err.reason}") from err
    except urllib.error.URLError as err:
        raise SetupError(f"cannot reach {url}: {err.reason}. Check the network and run the command again; "
                           "a partial download is kept and resumed.") from err
    with response:
        if have and response.status != 206:     # server ignored the range: start over
            have = 0
        total = response.headers.get("Content-Length")
        total = int(total) + have if total is not None else None
        with open(part, "ab" if have else "wb") as f, tqdm(
            total=total, initial=have, unit="B", unit_scale=True, desc=part.name, disable=not progress
        ) as bar:
            try:
                for block in iter(lambda: response.read(1 << 16), b""):
                    f.write(block)
                    bar.update(len(block))
            except (OSError, http.client.HTTPException) as err:
                raise _interrupted(url, part, err) from err
    if total is not None and part.stat().st_size < total:
        raise _interrupted(url, part, f"{part.stat().st_size:,} of {total:,} bytes received")


def _interrupted(url, part, why):
    return RuntimeError(f"download of {url} stopped short ({why}). Run the command again: "
                        f"it resumes from the partial file {part}.")


def _extract(archive, root):
    """Extract into a temporary folder beside ``root/cifar-10-batches-py``, then rename into place."""
    target = root / CIFAR10_DIR
    with tempfile.TemporaryDirectory(dir=root, prefix=".extract-") as tmp:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, EOFError, OSError) as err:
            raise SetupError(f"{archive} is not a readable CIFAR-10 archive ({err}). "
                               f"Delete it and fetch again.") from err
        extracted = Path(tmp) / CIFAR10_DIR
        if not (extracted / "test_batch").exists():
            raise SetupError(f"{archive} does not hold {CIFAR10_DIR}/test_batch: not a CIFAR-10 archive. "
                               "Delete it and fetch again.")
        replace_dir(extracted, target)
    return target


def fetch_cifar10(root=DEFAULT_ROOT, url=CIFAR10_URL, md5=CIFAR10_MD5, progress=True):
    """Download, verify and extract CIFAR-10 into ``root``; resume a partial download.

    The archive is written as ``<name>.part`` and renamed only once its md5 matches.
    Returns the path of the extracted ``cifar-10-batches-py`` folder.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    archive = root / CIFAR10_ARCHIVE
    if not archive.exists():
        part = root / (CIFAR10_ARCHIVE + ".part")
        _download(url, part, progress)
        got = md5sum(part)
        if got != md5:
            part.unlink()
            raise SetupError(f"checksum mismatch for {url}: expected md5 {md5}, got {got}. "
                               "The corrupt download was deleted; run the command again.")
        os.replace(part, archive)
    elif md5sum(archive) != md5:
        raise SetupError(f"{archive} does not match md5 {md5}: delete it and fetch again.")
    return _extract(archive, root)
