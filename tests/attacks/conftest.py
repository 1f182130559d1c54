"""Shared fixtures: small models and a small adversarially trained MNIST CNN."""

import pathlib

import keras
import numpy as np
import pytest

from tfrobust import data
from tfrobust.attacks import FGSM

SHARED_DATASETS = pathlib.Path(__file__).resolve().parents[3] / "shared" / "datasets"


def load_mnist(split, n):
    """The first `n` images of the full MNIST beside the checkout, through `tfrobust.data`."""
    if not (SHARED_DATASETS / "mnist").is_dir():
        pytest.skip(f"MNIST not found in {SHARED_DATASETS}")
    return data.load_numpy("mnist", split, SHARED_DATASETS, n=n)


def small_cnn(input_shape=(28, 28, 1), classes=10, batch_norm=False):
    layers = [keras.Input(input_shape), keras.layers.Conv2D(16, 5, strides=2, activation="relu")]
    if batch_norm:
        layers.append(keras.layers.BatchNormalization())
    layers += [
        keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(classes),
    ]
    return keras.Sequential(layers)


@pytest.fixture(scope="session")
def mnist_test():
    """200 MNIST test points: enough to compare attacks to one percentage point."""
    return load_mnist("test", 200)


def train_mnist_model():
    """A small CNN after FGSM-RS training (Wong et al. 2020) on 10000 images.

    Fast adversarial training at eps 0.3 (step 0.375) makes the model robust
    enough that weak and strong attacks give different accuracies.
    """
    x, y = load_mnist("train", 10000)
    keras.utils.set_random_seed(0)
    model = small_cnn()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    for epoch_eps in (0.1, 0.3, 0.3):  # one warm-up epoch at a small budget
        attack = FGSM(eps=epoch_eps, random_start=True, step_size=1.25 * epoch_eps, seed=0)
        for i in range(0, len(x), 100):
            xb, yb = x[i : i + 100], y[i : i + 100]
            model.train_on_batch(np.asarray(attack(model, xb, yb)), yb)
    return model


@pytest.fixture(scope="session")
def mnist_model():
    return train_mnist_model()
