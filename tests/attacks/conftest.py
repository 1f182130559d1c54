"""Shared fixtures: small models and a small adversarially trained MNIST CNN."""

import gzip
import pathlib

import keras
import numpy as np
import pytest

from tfrobust.attacks import FGSM

MNIST_DIR = pathlib.Path(__file__).resolve().parents[3] / "shared" / "datasets" / "mnist"


def load_idx(path):
    """Parse a gzipped IDX file (MNIST's format): magic, dims, then raw uint8 data."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist(split, n):
    """The first `n` images of a split as float32 NHWC in [0, 1] and int32 labels."""
    prefix = "train" if split == "train" else "t10k"
    images = MNIST_DIR / f"{prefix}-images-idx3-ubyte.gz"
    labels = MNIST_DIR / f"{prefix}-labels-idx1-ubyte.gz"
    if not (images.exists() and labels.exists()):
        pytest.skip(f"MNIST not found in {MNIST_DIR}")
    x = load_idx(images)[:n].astype("float32")[..., None] / 255.0
    y = load_idx(labels)[:n].astype("int32")
    return x, y


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
            xb, yb = x[i:i + 100], y[i:i + 100]
            model.train_on_batch(np.asarray(attack(model, xb, yb)), yb)
    return model


@pytest.fixture(scope="session")
def mnist_model():
    return train_mnist_model()
