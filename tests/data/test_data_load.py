"""`tfrobust.data.load`: the bundled sample, tfds fallback, errors, caching."""

import os
import shutil

import numpy as np
import pytest

from tfrobust import data
from tfrobust.data import cache


@pytest.fixture(autouse=True)
def _no_env_data_dir(monkeypatch):
    monkeypatch.delenv("TFROBUST_DATA_DIR", raising=False)


@pytest.fixture
def sample_copy(tmp_path):
    """A writable copy of the bundled sample."""
    return shutil.copytree(data.SAMPLE_DIR, tmp_path / "data")


def test_sample_mnist_as_numpy():
    x, y = data.load_numpy("mnist", "test", data.SAMPLE_DIR)
    assert x.shape == (500, 28, 28, 1) and x.dtype == np.float32
    assert 0.0 == x.min() and x.max() == 1.0
    assert y.dtype == np.int64 and set(y) == set(range(10))


def test_sample_cifar10_dataset_batches_floats_in_unit_range():
    ds = data.load("cifar10", "test", data.SAMPLE_DIR, batch_size=100, n=300)
    batches = list(ds.as_numpy_iterator())
    assert [len(b[1]) for b in batches] == [100, 100, 100]
    x = np.concatenate([b[0] for b in batches])
    assert x.shape == (300, 32, 32, 3) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_dataset_matches_numpy_variant():
    x, y = data.load_numpy("cifar10", "test", data.SAMPLE_DIR, n=50)
    xb, yb = next(data.load("cifar10", "test", data.SAMPLE_DIR, batch_size=50).as_numpy_iterator())
    np.testing.assert_array_equal(xb, x)
    np.testing.assert_array_equal(yb, y)


def test_shuffle_is_seeded_and_keeps_every_example():
    def labels(seed):
        ds = data.load("mnist", "test", data.SAMPLE_DIR, batch_size=500, shuffle=True, seed=seed)
        return next(ds.as_numpy_iterator())[1]

    _, y = data.load_numpy("mnist", "test", data.SAMPLE_DIR)
    np.testing.assert_array_equal(labels(3), labels(3))
    assert not np.array_equal(labels(3), y)
    assert sorted(labels(3)) == sorted(y)


def test_second_load_reads_the_cache_written_atomically(sample_copy):
    data.load_uint8("mnist", "test", sample_copy)
    cached = list(cache.cache_dir().glob("mnist/test-*.npz"))
    assert cached and not list(cache.cache_dir().glob("mnist/*.tmp*"))
    os.utime(cached[0], (1, 1))  # mark it; a re-decode would rewrite it
    data.load_uint8("mnist", "test", sample_copy)
    assert os.path.getmtime(cached[0]) == 1


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="Valid names: cifar10, cifar100, fashion_mnist, "):
        data.load_numpy("cifar11", "test")


def test_unknown_split_is_an_error():
    with pytest.raises(ValueError, match="Unknown split 'validation'"):
        data.load_numpy("mnist", "validation", data.SAMPLE_DIR)


def test_missing_files_name_every_place_tried(tmp_path):
    with pytest.raises(data.DatasetNotFoundError) as error:
        data.load_numpy("cifar10", "test", tmp_path, download=False)
    message = str(error.value)
    assert f"data_dir={tmp_path}: no cifar10-jpeg/test.tar.gz" in message
    assert "cifar-10-batches-py/{test_batch}" in message
    assert "tensorflow-datasets 'cifar10'" in message
    assert "Fix:" in message


def test_dataset_without_tfds_says_so(tmp_path):
    with pytest.raises(
        data.DatasetNotFoundError, match="tensorflow-datasets has no 'tiny_imagenet'"
    ):
        data.load_numpy("tiny_imagenet", "test", tmp_path)


def test_corrupted_file_fails_its_checksum(sample_copy):
    path = sample_copy / "mnist" / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(path.read_bytes())
    content[-1] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(data.ChecksumError, match="t10k-labels-idx1-ubyte.gz is corrupted"):
        data.load_numpy("mnist", "test", sample_copy)


def test_n_larger_than_split_is_an_error():
    with pytest.raises(ValueError, match="n=501"):
        data.load_numpy("mnist", "test", data.SAMPLE_DIR, n=501)


def test_tensorflow_datasets_is_the_fallback(tmp_path, monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    import importlib

    loader = importlib.import_module("tfrobust.data.load")  # the module, not `data.load`
    monkeypatch.setattr(loader, "_online", lambda: True)  # mock data needs no network
    with tfds.testing.mock_data(num_examples=7):
        x, y = data.load_numpy("mnist", "train", tmp_path)
    assert x.shape == (7, 28, 28, 1) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0 and y.shape == (7,)


def test_augmentation_keeps_shape_and_range_and_changes_images():
    plain = data.load("cifar10", "test", data.SAMPLE_DIR, batch_size=64, n=64)
    augmented = data.load("cifar10", "test", data.SAMPLE_DIR, batch_size=64, n=64, augment=True)
    (x, y), (xa, ya) = next(plain.as_numpy_iterator()), next(augmented.as_numpy_iterator())
    assert xa.shape == x.shape and 0.0 <= xa.min() and xa.max() <= 1.0
    np.testing.assert_array_equal(ya, y)
    changed = np.mean(np.abs(xa - x).reshape(64, -1).max(axis=1) > 0)
    assert changed > 0.9  # 1 in 81 crops is the identity, and then only half are unflipped
