"""Vanilla gradient, SmoothGrad and Integrated Gradients."""

import keras
import numpy as np
import pytest
from keras import ops

from tfrobust import saliency


def tiny_cnn(seed=0):
    """Weights large enough that logits differ by O(1) between images and baselines."""
    keras.utils.set_random_seed(seed)
    init = keras.initializers.RandomNormal(stddev=0.5, seed=seed)
    return keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu", kernel_initializer=init),
            keras.layers.Flatten(),
            keras.layers.Dense(8, activation="relu", kernel_initializer=init),
            keras.layers.Dense(3, kernel_initializer=init),
        ]
    )


def images(n=4, shape=(6, 6, 2), seed=0):
    return np.random.default_rng(seed).random((n, *shape), dtype=np.float32)


@pytest.mark.jax
def test_gradient_of_a_linear_model_is_its_weight_row():
    model = keras.Sequential(
        [keras.Input((2, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    x, y = images(3, (2, 2, 1)), np.array([0, 2, 1])
    kernel = ops.convert_to_numpy(model.layers[-1].kernel)
    grads = ops.convert_to_numpy(saliency.vanilla_gradient(model, x, y))
    np.testing.assert_allclose(grads.reshape(3, 4), kernel[:, y].T, rtol=1e-6)


@pytest.mark.jax
def test_integrated_gradients_are_complete():
    """Attributions sum to f(x) - f(baseline) within 1%, for the predicted and another class."""
    model, x = tiny_cnn(), images()
    baseline = np.full_like(x, 0.1)
    for y in (None, np.array([1, 0, 2, 1])):
        maps = ops.convert_to_numpy(saliency.integrated_gradients(model, x, y, baseline, steps=128))
        y = ops.convert_to_numpy(ops.argmax(model(x), -1)) if y is None else y
        rows = np.arange(len(x))
        gap = (
            ops.convert_to_numpy(model(x))[rows, y] - ops.convert_to_numpy(model(baseline))[rows, y]
        )
        assert np.all(np.abs(gap) > 0.1), gap  # a gap worth explaining
        np.testing.assert_allclose(maps.reshape(len(x), -1).sum(1), gap, rtol=0.01)


@pytest.mark.jax
def test_smoothgrad_without_noise_is_the_gradient_and_is_seeded():
    model, x = tiny_cnn(), images()
    plain = ops.convert_to_numpy(saliency.vanilla_gradient(model, x))
    smooth = ops.convert_to_numpy(saliency.smoothgrad(model, x, samples=3, noise=0.0))
    np.testing.assert_allclose(smooth, plain, rtol=1e-5, atol=1e-7)
    a, b = (ops.convert_to_numpy(saliency.smoothgrad(model, x, samples=3, seed=7)) for _ in "ab")
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, plain)


def test_bad_arguments_are_rejected_with_the_value():
    model = tiny_cnn()
    with pytest.raises(ValueError, match="Received: samples=0"):
        saliency.smoothgrad(model, images(), samples=0)
    with pytest.raises(ValueError, match="Received: x.shape"):
        saliency.vanilla_gradient(model, np.zeros((6, 6, 2)))
    with pytest.raises(ValueError, match="Received: name='lime'"):
        saliency.get("lime")
    with pytest.raises(ValueError, match="Received: baseline.shape"):
        saliency.integrated_gradients(model, images(), baseline=np.zeros((1, 6, 6, 2)))
