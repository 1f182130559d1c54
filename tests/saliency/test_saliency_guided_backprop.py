"""Guided Backpropagation: no negative gradient passes back through a ReLU."""

import keras
import numpy as np
import pytest
from keras import ops

from tfrobust import architectures
from tfrobust import backend
from tfrobust import saliency
from tfrobust.saliency import guided as gb


@pytest.mark.jax
def test_guided_relu_passes_only_positive_gradients_of_positive_inputs():
    x = ops.convert_to_tensor(np.array([-1.0, -1.0, 2.0, 2.0], "float32"))
    upstream = ops.convert_to_tensor(np.array([3.0, -3.0, 3.0, -3.0], "float32"))
    value, grad = backend.value_and_grad(lambda z: ops.sum(gb.guided_relu(z) * upstream), x)
    np.testing.assert_array_equal(ops.convert_to_numpy(grad), [0.0, 0.0, 3.0, 0.0])
    assert float(value) == pytest.approx(0.0)  # relu(x) . upstream = 6 - 6


def two_layer(sign, relu_layer):
    """x -> Dense(4, ReLU) with positive weights -> Dense(1) whose weights all have `sign`."""
    inputs = keras.Input((1, 1, 2))
    h = keras.layers.Flatten()(inputs)
    if relu_layer:
        h = keras.layers.ReLU()(keras.layers.Dense(4, kernel_initializer="ones")(h))
    else:
        h = keras.layers.Dense(4, activation="relu", kernel_initializer="ones")(h)
    out = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(sign))(h)
    return keras.Model(inputs, out)


@pytest.mark.jax
@pytest.mark.parametrize("relu_layer", [True, False], ids=["ReLU_layer", "activation_arg"])
def test_negative_gradients_are_blocked_positive_ones_pass(relu_layer):
    x, y = np.ones((2, 1, 1, 2), "float32"), np.zeros(2, "int32")
    blocked = two_layer(-1.0, relu_layer)
    assert np.all(ops.convert_to_numpy(saliency.vanilla_gradient(blocked, x, y)) < 0)
    np.testing.assert_array_equal(ops.convert_to_numpy(saliency.guided_backprop(blocked, x, y)), 0)
    passed = two_layer(1.0, relu_layer)
    np.testing.assert_allclose(
        ops.convert_to_numpy(saliency.guided_backprop(passed, x, y)),
        ops.convert_to_numpy(saliency.vanilla_gradient(passed, x, y)),
    )


def _relus(model):
    return [
        layer.name
        for layer in model._flatten_layers()
        if isinstance(layer, keras.layers.ReLU)
        or getattr(layer, "activation", None) is keras.activations.relu
    ]


# TF only: library architectures build slowly on JAX; the tests above run on both.
@pytest.mark.parametrize("arch", ["lenet", "resnet20"])
def test_library_architectures_keep_outputs_and_lose_every_plain_relu(arch):
    model = architectures.get(arch, width=0.25)
    x = np.random.default_rng(0).random((2, *model.inputs[0].shape[1:]), dtype=np.float32)
    clone = gb.guided_model(model)
    assert _relus(model) and not _relus(clone)
    np.testing.assert_allclose(
        ops.convert_to_numpy(clone(x)), ops.convert_to_numpy(model(x)), rtol=1e-5, atol=1e-5
    )
    model.layers[-1].kernel.assign(model.layers[-1].kernel * 2.0)  # weights follow the model
    if arch == "lenet":  # its fc layers are copies, synced on use
        model.get_layer("fc1").kernel.assign(model.get_layer("fc1").kernel * 0.5)
    clone = gb.guided_model(model)
    np.testing.assert_allclose(
        ops.convert_to_numpy(clone(x)), ops.convert_to_numpy(model(x)), rtol=1e-5, atol=1e-5
    )
    maps = ops.convert_to_numpy(saliency.guided_backprop(model, x))
    assert maps.shape == x.shape and np.abs(maps).sum() > 0
