"""Files are readable by others (the umask's mode) and a damaged cache is rebuilt."""

import os
import stat

import keras
import numpy as np
import pytest

from tfrobust import attacks
from tfrobust import data
from tfrobust.data import cache
from tfrobust.evaluation import evaluate
from tfrobust.evaluation import write_report


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def tiny_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )


@pytest.mark.jax
def test_report_files_and_cache_get_the_umask_mode(tmp_path, umask_022, monkeypatch):
    x = np.random.default_rng(0).random((4, 8, 8, 1)).astype("float32")
    summary = evaluate(
        tiny_model(),
        (x, np.arange(4)),
        attacks=attacks.PGD(0.1, steps=1),
        eps=0.1,
        n=None,
        curve_eps=[0.05],
        resume_dir=tmp_path / "parts",
    )
    write_report(summary, tmp_path / "report")
    written = [p for p in (tmp_path / "report").rglob("*") if p.is_file()]
    assert {p.suffix for p in written} >= {".json", ".md", ".png"}
    monkeypatch.setenv("TFROBUST_CACHE_DIR", str(tmp_path / "cache"))
    data.load_uint8("mnist", "test", data.SAMPLE_DIR)
    written += list((tmp_path / "cache").rglob("*.npz")) + list((tmp_path / "parts").iterdir())
    assert {p.name: oct(mode(p)) for p in written} == {p.name: "0o644" for p in written}


def test_exported_savedmodel_gets_the_umask_mode(tmp_path, umask_022):
    from tfrobust.export import export_savedmodel

    out = export_savedmodel(tiny_model(), tmp_path / "exported")
    assert mode(out) == 0o755


@pytest.mark.jax
def test_a_truncated_cache_file_is_rebuilt_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("TFROBUST_CACHE_DIR", str(tmp_path))
    images, labels, _ = data.load_uint8("mnist", "test", data.SAMPLE_DIR)
    (path,) = (tmp_path / "data").rglob("*.npz")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.warns(UserWarning, match="damaged.*rebuilding"):
        again, again_labels, _ = data.load_uint8("mnist", "test", data.SAMPLE_DIR)
    np.testing.assert_array_equal(again, images)
    np.testing.assert_array_equal(again_labels, labels)
    assert cache.load(path) is not None  # rewritten whole
