"""MNIST from the shared IDX files and a small FGSM-RS-trained CNN, once per session."""

import gzip
import pathlib
import time

import keras
import numpy as np
import pytest

MNIST_DIR = pathlib.Path(__file__).resolve().parents[3] / "shared" / "datasets" / "mnist"
TRAIN_EPS = 0.1  # L-inf budget the model is trained and evaluated at


def read_idx(path):
    """Parse a gzip'd IDX file (big-endian header: magic, then one int32 per dimension)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = np.frombuffer(data, dtype=">i4", count=ndim, offset=4)
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(split, n):
    prefix = "train" if split == "train" else "t10k"
    images = MNIST_DIR / f"{prefix}-images-idx3-ubyte.gz"
    labels = MNIST_DIR / f"{prefix}-labels-idx1-ubyte.gz"
    if not images.is_file() or not labels.is_file():
        pytest.skip(f"MNIST IDX files not found in {MNIST_DIR}")
    x = read_idx(images)[:n].astype("float32")[..., None] / 255.0
    y = read_idx(labels)[:n].astype("int64")
    return x, y


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
