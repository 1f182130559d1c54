"""SAT: the saliency initialisation, its alpha^t schedule, PGD-SAT / TRADES-SAT in `fit`."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import ops

from tfrobust import objectives
from tfrobust import saliency
from tfrobust.attacks.saliency_init import SaliencyPGD
from tfrobust.attacks.saliency_init import binarize
from tfrobust.training import adversarial
from tfrobust.training import backup


def small_cnn(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ]
    )


def batch(n=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, n)


@pytest.mark.jax
def test_start_is_in_the_eps_ball_and_the_box_whatever_the_map():
    model = small_cnn()
    x, y = batch()
    x[:4] = 0.0  # pixels at the box's edges stay inside it
    x[4:8] = 1.0
    attack = SaliencyPGD(eps=0.1, steps=0, alpha=0.5, seed=0)
    attack.set_epoch(1)
    for maps in (None, np.random.default_rng(1).normal(size=(16, 8, 8)).astype("float32")):
        x_adv = ops.convert_to_numpy(attack(model, x, y, saliency=maps))
        assert np.abs(x_adv - x).max() <= 0.1 + 1e-6
        assert x_adv.min() >= 0 and x_adv.max() <= 1
        inner = np.abs(x_adv[8:] - x[8:])  # away from the box: exactly eps per coordinate
        np.testing.assert_allclose(inner[(x[8:] > 0.1) & (x[8:] < 0.9)], 0.1, rtol=1e-5)


@pytest.mark.jax
@pytest.mark.parametrize("epoch", [0, 2, 6])
def test_random_fraction_is_alpha_to_the_epoch(epoch):
    """With s = +1 everywhere the saliency start is -eps; random coordinates: +eps half the time."""
    model = small_cnn()
    n = 256
    x, y = np.full((n, 8, 8, 1), 0.5, "float32"), np.zeros(n, "int32")
    attack = SaliencyPGD(eps=0.1, steps=0, alpha=0.7, seed=3)
    attack.set_epoch(epoch)
    assert float(attack.random_fraction.value) == pytest.approx(0.7**epoch)
    delta = ops.convert_to_numpy(attack(model, x, y, saliency=np.ones((n, 8, 8, 1), "float32"))) - x
    random_fraction = 2 * np.mean(delta > 0)
    sigma = 2 * np.sqrt(0.25 / delta.size)  # the estimate's standard deviation, at most
    assert random_fraction == pytest.approx(0.7**epoch, abs=5 * sigma)


@pytest.mark.jax
def test_without_noise_the_start_is_minus_the_thresholded_saliency():
    maps = ops.convert_to_tensor(np.array([[[[-2.0], [0.5]]], [[[3.0], [1.0]]]], "float32"))
    np.testing.assert_array_equal(
        ops.convert_to_numpy(binarize(maps))[..., 0], [[[-1, 1]], [[1, -1]]]
    )  # signed: 0; non-negative: mean
    attack = SaliencyPGD(eps=0.25, steps=0, alpha=0.5)
    attack.set_epoch(60)  # 0.5^60: no noise left
    x = np.full((2, 1, 2, 1), 0.5, "float32")
    x_adv = ops.convert_to_numpy(attack(small_cnn_1x2(), x, np.zeros(2), saliency=maps))
    np.testing.assert_allclose(x_adv[..., 0], [[[0.75, 0.25]], [[0.25, 0.75]]])


def small_cnn_1x2():
    return keras.Sequential([keras.Input((1, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])


@pytest.mark.jax
@pytest.mark.parametrize(
    "objective, maps_in_data",
    [
        (objectives.PGDAT(), False),  # PGD-SAT
        (objectives.TRADES(), True),
    ],
)  # TRADES-SAT
def test_fit_follows_the_schedule_with_online_or_dataset_saliency(objective, maps_in_data):
    model = small_cnn()
    attack = SaliencyPGD(eps=0.1, step_size=0.05, steps=2, alpha=0.5, seed=0)
    robust = adversarial(model, objective, attack)
    robust.compile(optimizer=keras.optimizers.SGD(0.1))
    x, y = batch()
    inputs = (
        saliency.with_saliency(x, saliency.mask_to_saliency(x[..., 0] > 0.5)) if maps_in_data else x
    )
    before = [ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    history = robust.fit(inputs, y, batch_size=8, epochs=3, verbose=0).history
    assert float(robust.attack.random_fraction.value) == pytest.approx(0.25)  # last epoch: t = 2
    assert np.isfinite(history["loss"]).all() and "adv_accuracy" in history
    assert not np.allclose(ops.convert_to_numpy(model.trainable_weights[0]), before[0])


@pytest.mark.jax
def test_the_compiled_train_step_starts_from_alpha_to_the_epoch():
    """Plain SAT, maps s = +1: epoch 0 starts from noise, later ones (alpha^t ~ 0) from x - eps.

    The weights do not move (learning rate 0), so each epoch's loss is that of
    its adversarial examples: the schedule reached the compiled step.
    """
    model = small_cnn()
    x, y = batch()
    x = 0.2 + 0.6 * x  # away from the box, so x - eps is not clipped
    attack = SaliencyPGD(eps=0.1, steps=0, alpha=1e-6, seed=0)
    robust = adversarial(model, objectives.PGDAT(), attack)
    robust.compile(optimizer=keras.optimizers.SGD(0.0))
    maps = np.ones_like(x)
    history = robust.fit(
        saliency.with_saliency(x, maps), y, batch_size=len(x), epochs=3, shuffle=False, verbose=0
    ).history
    from_saliency = float(
        ops.mean(keras.losses.sparse_categorical_crossentropy(y, model(x - 0.1), from_logits=True))
    )
    assert history["loss"][1] == pytest.approx(from_saliency, rel=1e-5)
    assert history["loss"][2] == pytest.approx(from_saliency, rel=1e-5)
    assert history["loss"][0] != pytest.approx(from_saliency, rel=1e-3)
    assert float(robust.attack.random_fraction.value) == pytest.approx(1e-12)


@pytest.mark.jax
def test_a_resumed_run_restores_alpha_t_and_equals_an_uninterrupted_one(tmp_path):
    x, y = batch()

    def run(folder, epochs):
        robust = adversarial(
            small_cnn(),
            objectives.PGDAT(),
            SaliencyPGD(eps=0.1, step_size=0.05, steps=1, alpha=0.5, seed=0),
        )
        robust.compile(optimizer=keras.optimizers.SGD(0.1))
        done = backup.restore(robust, folder)
        fraction = float(robust.attack.random_fraction.value)
        robust.fit(
            x,
            y,
            batch_size=8,
            epochs=epochs,
            initial_epoch=done,
            shuffle=False,
            verbose=0,
            callbacks=[backup.EpochBackup(folder)],
        )
        return robust, fraction

    straight, _ = run(tmp_path / "straight", 3)
    run(tmp_path / "killed", 2)
    resumed, restored_fraction = run(tmp_path / "killed", 3)
    assert restored_fraction == pytest.approx(0.5)  # saved after epoch t = 1; a new attack has 1
    for a, b in zip(straight.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert float(resumed.attack.random_fraction.value) == pytest.approx(0.25)


def test_arguments_and_missing_saliency_are_rejected():
    with pytest.raises(ValueError, match="Received: alpha=1.5"):
        SaliencyPGD(alpha=1.5)
    with pytest.raises(ValueError, match="Received: saliency='gradcam'"):
        SaliencyPGD(saliency="gradcam")
    with pytest.raises(ValueError, match="Received: steps=-1"):
        SaliencyPGD(steps=-1)
    x, y = batch(2)
    with pytest.raises(ValueError, match="pass maps with the data"):
        SaliencyPGD(eps=0.1, saliency=None)(small_cnn(), x, y)


# A fresh process: the failure this guards against is a native abort (heap
# corruption in oneDNN's CPU kernel for the gradient of a 1x1 stride-2 conv, the
# ResNet projection shortcut, at 64x64), which would kill the test session.
SAT_64 = r"""
import numpy as np
from tfrobust import architectures, objectives
from tfrobust.attacks.saliency_init import SaliencyPGD
from tfrobust.training import adversarial
model = architectures.get("resnet18", num_classes=10, input_shape=(64, 64, 3), width=0.125)
robust = adversarial(model, objectives.PGDAT(),
                     SaliencyPGD(eps=3 / 255, step_size=1.2 / 255, steps=2, seed=0))
robust.compile(optimizer="sgd")
x = np.random.default_rng(0).random((2, 64, 64, 3), dtype=np.float32)
history = robust.fit(x, np.array([0, 1]), batch_size=2, epochs=1, verbose=0).history
assert np.isfinite(history["loss"]).all(), history
print("trained")
"""


def test_pgd_sat_trains_a_resnet18_on_64x64_images():
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-c", SAT_64], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0 and "trained" in result.stdout, (
        f"exit status {result.returncode}: {result.stderr[-3000:]}"
    )
