"""A recipe trains where TensorFlow is not installed: `fit` reads the NumPy streams
(`data.numpy_epochs`) and logs its epochs to a CSV file, on both backends."""

import csv
import pathlib

import keras
import pytest

from tfrobust import data
from tfrobust import installed
from tfrobust.backend import make_strategy
from tfrobust.data import numpy_epochs
from tfrobust.recipes import load_recipe
from tfrobust.recipes import run

RECIPE = pathlib.Path(__file__).resolve().parents[2] / "recipes" / "pgd_at_mnist_lenet.yaml"


@pytest.mark.jax
def test_fit_without_tensorflow_draws_each_epoch_from_its_own_seed(tmp_path, monkeypatch):
    monkeypatch.setattr(installed, "tensorflow_installed", lambda: False)
    drawn, fit_epoch = [], [None]  # (fit's epoch, the stream's) of each batch drawn
    getitem = numpy_epochs.EpochBatches.__getitem__

    def recording(self, step):
        drawn.append((fit_epoch[0], self.epoch))
        return getitem(self, step)

    class FitEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            fit_epoch[0] = epoch

    monkeypatch.setattr(numpy_epochs.EpochBatches, "__getitem__", recording)
    recipe = load_recipe(
        RECIPE,
        scale="cpu",
        overrides=[
            f"dataset.data_dir={data.SAMPLE_DIR}",
            "dataset.n_train=96",
            "dataset.validation.n=32",
            "training.epochs=2",
            "training.batch_size=32",
            "attack.args.steps=1",
        ],
    )
    run.fit(recipe, tmp_path, make_strategy("default"), verbose=0, callbacks=[FitEpoch()])
    during_fit = [pair for pair in drawn if pair[0] is not None]  # not the spec's look
    assert sorted(during_fit) == [(0, 0)] * 3 + [(1, 1)] * 3
    with open(tmp_path / "logs" / "epochs.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1"]
    assert (tmp_path / "model.keras").is_file()
