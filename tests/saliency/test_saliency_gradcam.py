"""Grad-CAM and Grad-CAM++ against a hand computation, and on library architectures."""

import keras
import numpy as np
import pytest
from keras import ops

from tfrobust import architectures
from tfrobust import saliency
from tfrobust.saliency import gradcam


def cam_model():
    """x -> 1x1 conv "conv" (2 channels, linear) -> global mean -> Dense(3): constant dlogit/dA."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((3, 3, 1))
    a = keras.layers.Conv2D(2, 1, name="conv")(inputs)
    logits = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(a))
    return keras.Model(inputs, logits)


def by_hand(model, x, y):
    """A, and dlogit_y/dA = W[k, y] / (h w) at every position."""
    conv, dense = model.get_layer("conv"), model.layers[-1]
    kernel, bias = (ops.convert_to_numpy(v) for v in conv.weights)
    a = x @ kernel[0, 0] + bias  # (N, 3, 3, 2)
    w = ops.convert_to_numpy(dense.kernel)[:, y].T  # (N, 2)
    grad = np.broadcast_to(w[:, None, None, :] / 9.0, a.shape)
    return a, grad


@pytest.mark.jax
def test_grad_cam_and_grad_cam_plus_plus_equal_the_hand_computation():
    model = cam_model()
    x = np.random.default_rng(0).normal(size=(4, 3, 3, 1)).astype("float32")
    y = np.array([0, 1, 2, 0])
    a, grad = by_hand(model, x, y)

    expected = np.maximum((grad.mean(axis=(1, 2), keepdims=True) * a).sum(-1), 0)
    got = ops.convert_to_numpy(saliency.grad_cam(model, x, y, layer="conv", upsample=False))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)

    alpha = grad**2 / (2 * grad**2 + a.sum(axis=(1, 2), keepdims=True) * grad**3)
    weights = (alpha * np.maximum(grad, 0)).sum(axis=(1, 2), keepdims=True)
    expected = np.maximum((weights * a).sum(-1), 0)
    got = ops.convert_to_numpy(
        saliency.grad_cam_plus_plus(model, x, y, layer="conv", upsample=False)
    )
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


# Library architectures take ~10 s each to build on JAX with two shared CPU cores:
# tested on TF; the tiny model above runs the same code on both backends.
def test_default_layer_is_the_last_convolutional_stage():
    assert gradcam.default_layer(architectures.get("resnet20", width=0.25)) == "stage3"
    assert gradcam.default_layer(architectures.get("lenet", width=0.5)) == "stage2"


def test_cams_on_lenet_are_image_sized_and_guided_version_is_image_shaped():  # TF: see above
    model = architectures.get("lenet", width=0.5)
    x = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    cam = ops.convert_to_numpy(saliency.grad_cam(model, x))
    assert cam.shape == (2, 28, 28) and cam.min() >= 0
    guided = ops.convert_to_numpy(saliency.guided_grad_cam_plus_plus(model, x, layer="stage1"))
    assert guided.shape == x.shape and np.isfinite(guided).all()


def test_unknown_or_flat_layer_is_rejected():
    model = architectures.get("lenet", width=0.5)
    x = np.zeros((1, 28, 28, 1), "float32")
    with pytest.raises(ValueError, match="Received: layer='nope'"):
        saliency.grad_cam(model, x, layer="nope")
    with pytest.raises(ValueError, match="4-D"):
        saliency.grad_cam(model, x, layer="features")
