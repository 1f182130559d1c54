"""The on-disk formats, on small files written here in each format."""

import gzip
import pickle

import numpy as np
import pytest

from tfrobust import data
from tfrobust.data.formats import CifarBatches
from tfrobust.data.formats.idx import read_idx


@pytest.fixture(autouse=True)
def _no_env_data_dir(monkeypatch):
    monkeypatch.delenv("TFROBUST_DATA_DIR", raising=False)


def _cifar_batch(path, n, seed, label_key="labels"):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8)
    labels = rng.integers(0, 10, n).tolist()
    with open(path, "wb") as f:
        pickle.dump({b"data": images, label_key.encode(): labels}, f)
    return images, labels


def test_cifar_python_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    images, labels = _cifar_batch(folder / "test_batch", 6, seed=0)
    x, y = data.load_numpy("cifar10", "test", tmp_path)
    assert x.shape == (6, 32, 32, 3) and y.tolist() == labels
    # Rows are stored channel-first: red plane, then green, then blue.
    assert x[2, 0, 1, 1] == pytest.approx(images[2, 1024 + 1] / 255.0)


def test_cifar_batch_that_runs_code_is_refused(tmp_path):
    path = tmp_path / "test_batch"
    path.write_bytes(pickle.dumps({b"data": print}))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load builtins.print"):
        CifarBatches("x", {"test": ["test_batch"]}, b"labels").read([path], "test")


def test_svhn_mat_maps_label_10_to_digit_0(tmp_path):
    scipy_io = pytest.importorskip("scipy.io")
    (tmp_path / "svhn").mkdir()
    images = np.random.default_rng(0).integers(0, 256, (32, 32, 3, 4), dtype=np.uint8)
    scipy_io.savemat(
        tmp_path / "svhn" / "test_32x32.mat", {"X": images, "y": np.array([[10], [1], [9], [10]])}
    )
    x, y = data.load_numpy("svhn", "test", tmp_path)
    assert y.tolist() == [0, 1, 9, 0]
    np.testing.assert_allclose(x[1], images[..., 1] / 255.0)


def test_image_folder_as_directory_equals_archive(tmp_path):
    import tarfile

    with tarfile.open(data.SAMPLE_DIR / "cifar10-jpeg" / "test.tar.gz") as archive:
        archive.extractall(tmp_path / "cifar10-jpeg", filter="data")
    x_dir, y_dir = data.load_numpy("cifar10", "test", tmp_path)
    x_tar, y_tar = data.load_numpy("cifar10", "test", data.SAMPLE_DIR)
    np.testing.assert_array_equal(x_dir, x_tar)
    np.testing.assert_array_equal(y_dir, y_tar)


def test_truncated_idx_file_is_an_error(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (100).to_bytes(4, "big") + bytes(10))
    with pytest.raises(ValueError, match="truncated"):
        read_idx(path)


def test_sample_writer_round_trips(tmp_path):
    from tfrobust.data.sample import write_sample

    write_sample(data.SAMPLE_DIR, tmp_path, {"train": 20, "test": 10}, {"train": 20, "test": 10})
    x, y = data.load_numpy("cifar10", "train", tmp_path)
    assert np.bincount(y).tolist() == [2] * 10
    x, y = data.load_numpy("mnist", "test", tmp_path)
    x_full, y_full = data.load_numpy("mnist", "test", data.SAMPLE_DIR, n=10)
    np.testing.assert_array_equal(x, x_full)
    np.testing.assert_array_equal(y, y_full)
