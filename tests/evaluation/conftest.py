"""MNIST from the shared datasets and a small FGSM-RS-trained CNN, once per session."""

import pathlib
import time

import keras
import numpy as np
import pytest

from tfrobust import data

SHARED_DATASETS = pathlib.Path(__file__).resolve().parents[3] / "shared" / "datasets"
TRAIN_EPS = 0.1  # L-inf budget the model is trained and evaluated at


def load_mnist(split, n):
    """The first `n` images of the full MNIST beside the checkout, through `tfrobust.data`."""
    if not (SHARED_DATASETS / "mnist").is_dir():
        pytest.skip(f"MNIST not found in {SHARED_DATASETS}")
    return data.load_numpy("mnist", split, SHARED_DATASETS, n=n)


def small_cnn(name="mnist_cnn"):
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(16, 3, strides=2, activation="relu"),
        keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10),
    ], name=name)


@pytest.fixture(scope="session")
def mnist_test():
    return load_mnist("test", 500)


@pytest.fixture(scope="session")
def robust_mnist_model():
    """A tiny CNN trained 2 epochs on 6,000 images with FGSM-RS (eps=0.1); ~20 s on 2 cores."""
    from tfrobust.attacks.fgsm import FGSM

    x, y = load_mnist("train", 6000)
    keras.utils.set_random_seed(0)
    model = small_cnn()
    model.compile(optimizer=keras.optimizers.Adam(2e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    attack = FGSM(TRAIN_EPS, random_start=True, step_size=1.25 * TRAIN_EPS, seed=0)
    start = time.perf_counter()
    for epoch in range(2):
        order = np.random.default_rng(epoch).permutation(len(x))
        for i in range(0, len(x), 100):
            idx = order[i:i + 100]
            x_adv = attack(model, x[idx], y[idx])
            model.train_on_batch(x_adv, y[idx])
    model.training_seconds = time.perf_counter() - start
    model.train_eps = TRAIN_EPS
    return model
