"""A per-epoch backup is kept in files small enough to commit, and restores exactly."""

import keras
import numpy as np
import pytest

from tfrobust.training import backup

pytestmark = pytest.mark.jax

COMMIT_LIMIT = 5_000_000  # bytes per file in the repository (models/pending/)


def _model():
    """About 1M weights: 8 MB of state with SGD momentum, over the commit limit."""
    model = keras.Sequential(
        [keras.Input((100,))]
        + [keras.layers.Dense(700, activation="relu") for _ in range(3)]
        + [keras.layers.Dense(10)]
    )
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy")
    return model


def test_a_backup_larger_than_the_commit_limit_is_split_and_restores_exactly(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 100)).astype("float32"), rng.integers(0, 10, size=32)
    trained = _model()
    trained.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[backup.EpochBackup(tmp_path)])

    files = list((tmp_path / "epoch-2").iterdir())
    assert sum(p.stat().st_size for p in files) > COMMIT_LIMIT
    assert max(p.stat().st_size for p in files) < COMMIT_LIMIT
    assert not (tmp_path / "epoch-1").exists()  # only the last epoch is kept

    resumed = _model()
    assert backup.restore(resumed, tmp_path) == 2
    pairs = [
        *zip(trained.variables, resumed.variables),
        *zip(trained.optimizer.variables, resumed.optimizer.variables),
    ]
    assert len(pairs) == len(trained.variables) + len(trained.optimizer.variables)
    for saved, loaded in pairs:
        np.testing.assert_array_equal(np.asarray(saved), np.asarray(loaded))
    momenta = [v for v in resumed.optimizer.variables if "momentum" in v.path]
    assert momenta and all(np.any(np.asarray(v)) for v in momenta)


def test_a_variable_larger_than_a_shard_is_backed_up_whole(tmp_path):
    """Keras does not split a variable: full-width ResNet-18's 512x512 3x3 kernels (9.4 MB)
    once stopped the run at its first backup."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 1600)).astype("float32"), rng.integers(0, 10, size=8)
    trained = keras.Sequential(
        [keras.Input((1600,)), keras.layers.Dense(1600), keras.layers.Dense(10)]
    )
    trained.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy")
    trained.fit(x, y, epochs=1, verbose=0, callbacks=[backup.EpochBackup(tmp_path)])

    largest = max(p.stat().st_size for p in (tmp_path / "epoch-1").iterdir())
    assert largest > 1600 * 1600 * 4 > COMMIT_LIMIT
    resumed = keras.Sequential(
        [keras.Input((1600,)), keras.layers.Dense(1600), keras.layers.Dense(10)]
    )
    resumed.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy")
    assert backup.restore(resumed, tmp_path) == 1
    for saved, loaded in zip(trained.variables, resumed.variables):
        np.testing.assert_array_equal(np.asarray(saved), np.asarray(loaded))
