"""Attacks read a model, never write it: weights and BatchNorm statistics stay put."""

import keras
import numpy as np
import pytest

from tfrobust.attacks import APGD
from tfrobust.attacks import APGDT
from tfrobust.attacks import FGSM
from tfrobust.attacks import PGD

pytestmark = pytest.mark.jax


@pytest.mark.parametrize(
    "attack",
    [
        FGSM(0.1, random_start=True, seed=1),
        PGD(0.1, step_size=0.05, steps=3, restarts=2, seed=1),
        PGD(1.0, step_size=0.5, steps=3, norm="l2", loss="dlr", seed=1),
        APGD(0.1, steps=4, loss="dlr", seed=1),
        APGDT(0.1, steps=3, n_target_classes=2, seed=1),
    ],
    ids=repr,
)
def test_attack_leaves_weights_and_batchnorm_statistics(attack):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            keras.layers.Conv2D(4, 3),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
            keras.layers.Flatten(),
            keras.layers.Dense(4),
        ]
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(8, 6, 6, 2)).astype("float32")
    y = rng.integers(0, 4, 8).astype("int32")
    model.compile(
        optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    model.fit(x, y, epochs=1, verbose=0)  # moving statistics away from their init
    before = [np.array(v) for v in model.variables]
    attack(model, x, y)
    after = [np.array(v) for v in model.variables]
    assert [v.path for v in model.variables if "moving" in v.path]
    for b, a in zip(before, after):
        np.testing.assert_array_equal(b, a)
