import subprocess
import sys

import numpy as np
import pytest

from tests.cifar_fixture import IMAGES_PER_BATCH, ArchiveServer, make_archive, md5
from mlcourse import data


def test_digits_split_is_deterministic_and_disjoint():
    a, b = data.load_digits(), data.load_digits()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert a["X_train"].shape == (1297, 64) and a["X_val"].shape == (200, 64) and a["X_test"].shape == (300, 64)
    assert a["X_train"].dtype == np.float64 and a["X_train"].max() == 16.0
    rows = {tuple(r) for r in a["X_test"]}
    assert sum(tuple(r) in rows for r in a["X_train"]) < 5  # only identical-looking digits can repeat
    images = data.load_digits(flatten=False)
    assert images["X_train"].shape == (1297, 1, 8, 8)
    np.testing.assert_array_equal(images["X_train"].reshape(1297, -1), a["X_train"])


def test_mnist_sample_split_is_stratified_deterministic_and_disjoint():
    a, b = data.load_mnist_sample(), data.load_mnist_sample()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    sizes = {"train": 3500, "val": 500, "test": 1000}
    for split, n in sizes.items():
        X, y = a[f"X_{split}"], a[f"y_{split}"]
        assert X.shape == (n, 784) and X.dtype == np.float64 and y.shape == (n,) and y.dtype == np.int64
        assert np.bincount(y, minlength=10).tolist() == [n // 10] * 10, split
    assert a["X_train"].min() == 0.0 and a["X_train"].max() == 1.0
    assert np.bincount(a["y_train"][:1003]).max() - np.bincount(a["y_train"][:1003]).min() <= 1
    # the three splits hold different images (no two of the 5,000 are identical)
    rows = [{r.tobytes() for r in a[f"X_{split}"]} for split in sizes]
    assert sum(len(r) for r in rows) == len(set().union(*rows)) == 5000
    other = data.load_mnist_sample(num_val=100, num_test=200, flatten=False, seed=1)
    assert other["X_train"].shape == (4700, 1, 28, 28) and other["X_test"].shape == (200, 1, 28, 28)
    assert not np.array_equal(other["y_test"], a["y_test"][:200])
    # 28 x 28 digits: the ink sits in the middle, the border is blank
    mean_image = other["X_train"].mean(axis=0)[0]
    assert mean_image[:2].max() < 0.01 and mean_image[10:18, 10:18].mean() > 0.3
    with pytest.raises(ValueError, match="must leave training data"):
        data.load_mnist_sample(num_val=2500, num_test=2500)


def test_missing_mnist_sample_says_what_to_do(monkeypatch):
    monkeypatch.setattr(data, "MNIST_SAMPLE", "datasets/not-there.npz")
    with pytest.raises(FileNotFoundError, match=r"not in this installation .*load_digits\(\)"):
        data.load_mnist_sample()


def test_spiral_and_blobs_shapes_and_classes():
    X, y = data.make_spiral(num_per_class=50, num_classes=4)
    assert X.shape == (200, 2) and sorted(set(y)) == [0, 1, 2, 3]
    assert np.abs(X).max() <= 1.5
    X, y = data.make_blobs(num_per_class=30, num_classes=3)
    assert X.shape == (90, 2) and np.bincount(y).tolist() == [30, 30, 30]


def test_preprocessing_helpers():
    X = np.arange(12.0).reshape(4, 3)
    mean, Xc, Yc = data.subtract_mean(X, X[:2])
    np.testing.assert_allclose(mean, [4.5, 5.5, 6.5])
    np.testing.assert_allclose(Xc.mean(axis=0), 0)
    np.testing.assert_allclose(Yc, X[:2] - mean)
    Xb = data.add_bias_column(X)
    assert Xb.shape == (4, 4) and np.all(Xb[:, -1] == 1)
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        data.add_bias_column(np.ones(3))


@pytest.fixture
def server():
    srv = ArchiveServer(make_archive())
    yield srv
    srv.close()


def test_missing_cifar10_says_how_to_fetch(tmp_path):
    with pytest.raises(FileNotFoundError, match="mlcourse data fetch cifar10 --root"):
        data.load_cifar10(tmp_path)
    # an incomplete folder names what is missing instead of failing half-way through loading
    (tmp_path / "cifar-10-batches-py").mkdir()
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="missing cifar-10-batches-py/data_batch_1, .*data_batch_5\\)"):
        data.load_cifar10(tmp_path)


def test_fetch_then_load_cifar10(server, tmp_path):
    folder = data.fetch_cifar10(tmp_path, url=server.url, md5=md5(server.payload), progress=False)
    assert folder == tmp_path / "cifar-10-batches-py"
    loaded = data.load_cifar10(tmp_path)
    assert loaded["X_train"].shape == (5 * IMAGES_PER_BATCH, 3, 32, 32)
    assert loaded["X_test"].shape == (IMAGES_PER_BATCH, 3, 32, 32)
    assert loaded["X_train"].max() <= 255 and loaded["y_train"].max() < 10
    assert not list(tmp_path.glob("*.part"))
    # a second fetch reuses the verified archive: no new request
    requests = len(server.ranges)
    data.fetch_cifar10(tmp_path, url=server.url, md5=md5(server.payload), progress=False)
    assert len(server.ranges) == requests


def test_fetch_resumes_an_interrupted_download(server, tmp_path):
    server.cut_after = 1000
    with pytest.raises(RuntimeError, match=r"stopped short \(1,000 of [\d,]+ bytes received\)"):
        data.fetch_cifar10(tmp_path, url=server.url, md5=md5(server.payload), progress=False)
    # the partial file is kept, and the next fetch asks only for the rest with a Range request
    assert (tmp_path / "cifar-10-python.tar.gz.part").read_bytes() == server.payload[:1000]
    data.fetch_cifar10(tmp_path, url=server.url, md5=md5(server.payload), progress=False)
    assert server.ranges == [None, "bytes=1000-"]
    assert not (tmp_path / "cifar-10-python.tar.gz.part").exists()
    assert data.load_cifar10(tmp_path)["X_test"].shape[0] == IMAGES_PER_BATCH


def test_fetch_rejects_bad_checksum_and_keeps_nothing(server, tmp_path):
    with pytest.raises(RuntimeError, match="expected md5 0+, got"):
        data.fetch_cifar10(tmp_path, url=server.url, md5="0" * 32, progress=False)
    assert not (tmp_path / "cifar-10-python.tar.gz").exists()
    assert not (tmp_path / "cifar-10-python.tar.gz.part").exists()
    assert not (tmp_path / "cifar-10-batches-py").exists()


def test_fetch_rejects_corrupt_archive(tmp_path):
    garbage = b"not a tar archive at all" * 100
    srv = ArchiveServer(garbage)
    try:
        with pytest.raises(RuntimeError, match="not a readable CIFAR-10 archive"):
            data.fetch_cifar10(tmp_path, url=srv.url, md5=md5(garbage), progress=False)
    finally:
        srv.close()
    assert not (tmp_path / "cifar-10-batches-py").exists()


def test_fetch_command_line(server, tmp_path):
    def fetch(root, checksum):
        return subprocess.run([sys.executable, "-m", "mlcourse", "data", "fetch", "cifar10", "--root", str(root),
                               "--url", server.url, "--md5", checksum, "--quiet"], capture_output=True, text=True)

    done = fetch(tmp_path, md5(server.payload))
    assert done.returncode == 0, done.stderr
    assert "CIFAR-10 is ready" in done.stdout
    assert (tmp_path / "cifar-10-batches-py" / "test_batch").exists()
    stale = fetch(tmp_path, "f" * 32)
    assert stale.returncode == 2 and "does not match md5" in stale.stderr
    bad = fetch(tmp_path / "other", "f" * 32)
    assert bad.returncode == 2 and "checksum mismatch" in bad.stderr
