"""Every split comes in one fixed order whose first points are a fair sample."""

import hashlib
import json
import os
import tarfile

import numpy as np
import pytest

from tfrobust import data
from tfrobust.data import cache
from tfrobust.data.formats import image_folder

FIRST = 100


@pytest.fixture(autouse=True)
def _no_env_data_dir(monkeypatch):
    monkeypatch.delenv("TFROBUST_DATA_DIR", raising=False)


def _assert_first_cover_every_class(name, split, root):
    images, labels, source = data.load_uint8(name, split, root)
    num_classes = data.get_spec(name).num_classes
    missing = sorted(set(range(num_classes)) - set(labels[:FIRST].tolist()))
    assert not missing, (
        f"the first {FIRST} {name} {split} points of {root} "
        f"(order {source.order}) miss classes {missing}"
    )
    return labels, source


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_first_points_of_the_sample_cover_every_class(name, split):
    _assert_first_cover_every_class(name, split, data.SAMPLE_DIR)


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_first_points_of_the_full_sets_cover_every_class(shared_datasets, name, split):
    _assert_first_cover_every_class(name, split, shared_datasets)


def test_sources_name_their_order():
    assert data.load_uint8("mnist", "test", data.SAMPLE_DIR)[2].order == "canonical"
    order = data.load_uint8("cifar10", "test", data.SAMPLE_DIR)[2].order
    assert order == image_folder.ORDER == f"path-sha256-v1(seed={image_folder.ORDER_SEED})"


def test_image_folder_order_is_the_documented_one():
    """Sorted by SHA-256 of "<seed>/<class>/<file>", not by path nor class by class."""
    with tarfile.open(data.SAMPLE_DIR / "cifar10-jpeg" / "test.tar.gz") as archive:
        names = [m.name.split("/")[-2:] for m in archive if m.isfile()]
    expected = sorted(names, key=lambda p: image_folder.order_key(*p))
    classes = [data.get_spec("cifar10").class_names.index(c) for c, _ in expected]
    _, labels, _ = data.load_uint8("cifar10", "test", data.SAMPLE_DIR)
    assert labels.tolist() == classes
    assert labels.tolist() != sorted(labels.tolist())


def test_sample_is_balanced_and_in_the_full_splits_order():
    """The sample holds the first images of each class in the split's order."""
    _, labels, _ = data.load_uint8("cifar10", "test", data.SAMPLE_DIR)
    assert np.bincount(labels).tolist() == [50] * 10
    with tarfile.open(data.SAMPLE_DIR / "cifar10-jpeg" / "test.tar.gz") as archive:
        names = [m.name for m in archive if m.isfile()]
    keys = [image_folder.order_key(*n.split("/")[-2:]) for n in names]
    assert keys == sorted(keys)  # written in the order the loader reads them


def test_sample_is_the_first_of_each_class_of_the_full_split(shared_datasets):
    with tarfile.open(shared_datasets / "cifar10-jpeg" / "test.tar.gz") as archive:
        full = [m.name for m in archive if m.isfile()]
    with tarfile.open(data.SAMPLE_DIR / "cifar10-jpeg" / "test.tar.gz") as archive:
        sample = [m.name for m in archive if m.isfile()]
    by_class = {}
    for name in sorted(full, key=lambda n: image_folder.order_key(*n.split("/")[-2:])):
        by_class.setdefault(name.split("/")[-2], []).append(name)
    expected = sorted(
        (n for names in by_class.values() for n in names[:50]),
        key=lambda n: image_folder.order_key(*n.split("/")[-2:]),
    )
    assert sample == expected


def test_cache_key_changes_with_the_order(tmp_path):
    source = tmp_path / "file"
    source.write_bytes(b"x")
    paths = {
        cache.cache_path("cifar10", "test", [source], order)
        for order in ("canonical", image_folder.ORDER, "path-sha256-v1(seed=1)")
    }
    assert len(paths) == 3


def test_an_old_class_ordered_cache_is_not_served(tmp_path, monkeypatch):
    """A cache file written under the old key (no order in it) is never read."""
    root = tmp_path / "data"
    (root / "cifar10-jpeg").mkdir(parents=True)
    archive = root / "cifar10-jpeg" / "test.tar.gz"
    archive.write_bytes((data.SAMPLE_DIR / "cifar10-jpeg" / "test.tar.gz").read_bytes())
    monkeypatch.setenv("TFROBUST_CACHE_DIR", str(tmp_path / "cache"))
    old = cache.cache_dir() / "cifar10"
    old.mkdir(parents=True)
    stats = [(str(archive.resolve()), os.path.getsize(archive), os.path.getmtime(archive))]
    key = json.dumps([1, "cifar10", "test", stats]).encode()  # the FORMAT_VERSION 1 key
    stale = old / f"test-{hashlib.sha256(key).hexdigest()[:16]}.npz"
    cache.save(stale, np.zeros((500, 32, 32, 3), np.uint8), np.sort(np.arange(500) // 50))
    _, labels, _ = data.load_uint8("cifar10", "test", root)
    assert labels[:FIRST].tolist() != sorted(labels[:FIRST].tolist())
    assert len(list(old.glob("test-*.npz"))) == 2


def test_evaluation_records_the_order_and_the_points(tmp_path):
    import keras

    from tfrobust.evaluation import read_json
    from tfrobust.evaluation import write_report
    from tfrobust.evaluation.evaluate import evaluate
    from tfrobust.evaluation.evaluate import points_sha256

    images, labels, source = data.load_uint8("cifar10", "test", data.SAMPLE_DIR)
    x = images[:20].astype("float32") / 255.0
    model = keras.Sequential(
        [keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    summary = evaluate(model, (x, labels[:20]), attacks="fgsm", n=20, data_order=source.order)
    assert summary.data_order == image_folder.ORDER and summary.n == 20
    assert summary.points_sha256 == points_sha256(x, labels[:20])
    assert summary.points_sha256 != points_sha256(x[::-1], labels[:20][::-1])
    x_np, y_np = data.load_numpy("cifar10", "test", data.SAMPLE_DIR, n=20)
    assert points_sha256(x_np, y_np) == summary.points_sha256  # whatever loaded them
    paths = write_report(summary, tmp_path)
    saved = json.loads(paths["json"].read_text())
    assert saved["data_order"] == image_folder.ORDER
    assert saved["points_sha256"] == summary.points_sha256
    assert read_json(paths["json"]) == summary
    assert summary.points_sha256 in paths["markdown"].read_text()
