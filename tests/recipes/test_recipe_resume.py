"""A run killed after an epoch resumes from it when started again (`training.backup`)."""

import pathlib

import keras
import pytest
import tensorflow as tf

from tfrobust import data
from tfrobust.recipes import load_recipe
from tfrobust.recipes import run

RECIPE = pathlib.Path(__file__).resolve().parents[2] / "recipes" / "pgd_at_mnist_lenet.yaml"


class Killed(Exception):
    pass


class KillAfterEpoch(keras.callbacks.Callback):
    """Raises at the end of epoch `epoch`, after BackupAndRestore has saved it."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise Killed


class RecordEpochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def test_killed_run_resumes_from_its_last_epoch(tmp_path):
    recipe = load_recipe(
        RECIPE,
        scale="cpu",
        overrides=[
            f"dataset.data_dir={data.SAMPLE_DIR}",
            "dataset.n_train=128",
            "dataset.validation.n=64",
            "training.epochs=3",
            "training.batch_size=64",
            "attack.args.steps=1",
        ],
    )
    strategy = tf.distribute.get_strategy()
    # `fit` runs its callbacks after EpochBackup, so epoch 1 is saved before the kill.
    with pytest.raises(Killed):
        run.fit(recipe, tmp_path, strategy, verbose=0, callbacks=[KillAfterEpoch(1)])
    assert (tmp_path / "backup").is_dir()

    recorder = RecordEpochs()
    run.fit(recipe, tmp_path, strategy, verbose=0, callbacks=[recorder])
    assert recorder.epochs == [2]  # epochs 0 and 1 were done before the kill
    assert not (tmp_path / "backup").exists()  # a finished run leaves no backup behind
