"""`saliency.precompute` over a whole array, and the on-disk cache of a fixed model's maps."""

import keras
import numpy as np
import pytest
from keras import ops

from tfrobust import saliency
from tfrobust.saliency import cache


def small_cnn(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ]
    )


@pytest.mark.jax
def test_uint8_images_are_scaled_and_batches_match_one_call():
    model = small_cnn()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (10, 8, 8, 3), dtype=np.uint8)
    y = rng.integers(0, 3, 10)
    maps = saliency.precompute("gradient", model, images, y, batch_size=4)
    direct = ops.convert_to_numpy(saliency.vanilla_gradient(model, images / 255.0, y))
    assert maps.dtype == np.float32 and maps.shape == images.shape
    np.testing.assert_allclose(maps, direct, rtol=1e-5, atol=1e-7)


@pytest.mark.jax
def test_a_smoothgrad_seed_seeds_the_run_not_every_batch():
    model = small_cnn()
    x = np.repeat(np.random.default_rng(0).random((1, 8, 8, 3), dtype=np.float32), 4, axis=0)
    y = np.zeros(4, "int64")
    first = saliency.precompute("smoothgrad", model, x, y, batch_size=2, samples=3, seed=7)
    again = saliency.precompute("smoothgrad", model, x, y, batch_size=2, samples=3, seed=7)
    np.testing.assert_array_equal(first, again)  # reproducible
    assert not np.allclose(first[:2], first[2:])  # the second batch has its own noise


def test_the_cache_key_covers_model_method_arguments_and_data():
    images = np.zeros((2, 4, 4, 3), np.uint8)
    labels = np.array([0, 1])
    base = cache.cache_key("a" * 64, "smoothgrad", {"samples": 4}, 8, images, labels)
    changed = [
        cache.cache_key("b" * 64, "smoothgrad", {"samples": 4}, 8, images, labels),
        cache.cache_key("a" * 64, "gradient", {"samples": 4}, 8, images, labels),
        cache.cache_key("a" * 64, "smoothgrad", {"samples": 5}, 8, images, labels),
        cache.cache_key("a" * 64, "smoothgrad", {"samples": 4}, 16, images, labels),
        cache.cache_key("a" * 64, "smoothgrad", {"samples": 4}, 8, images + 1, labels),
        cache.cache_key("a" * 64, "smoothgrad", {"samples": 4}, 8, images, labels[::-1]),
    ]
    paths = {cache.cache_path(key, "cifar10", "train", "/c") for key in [base, *changed]}
    assert len(paths) == 1 + len(changed)
    assert cache.cache_path(base, "cifar10", "train", "/c") == cache.cache_path(
        dict(base), "cifar10", "train", "/c"
    )


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TFROBUST_CACHE_DIR", str(tmp_path))
    assert cache.cache_root() == tmp_path / "saliency"
    assert cache.cache_root(tmp_path / "x") == tmp_path / "x"
