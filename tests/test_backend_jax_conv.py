"""`canonical_conv_gradients` (JAX on CPU): the same gradients, through the custom VJP."""

import keras
import numpy as np
import pytest
from keras import ops

from tfrobust import backend

if keras.backend.backend() != "jax":
    pytest.skip("a JAX backend module", allow_module_level=True)
jax = pytest.importorskip("jax")
jax_conv = pytest.importorskip("tfrobust.backend.jax_conv")

pytestmark = pytest.mark.jax

ORIGINAL = jax.lax.conv_general_dilated

# input shape, kernel shape, strides, padding, rhs dilation
CASES = [
    ((2, 9, 9, 3), (3, 3, 3, 4), (1, 1), "SAME", (1, 1)),
    ((2, 9, 9, 3), (3, 3, 3, 4), (2, 2), "SAME", (1, 1)),
    ((2, 10, 10, 3), (3, 3, 3, 4), (2, 2), "same", (1, 1)),
    ((2, 9, 9, 3), (1, 1, 3, 4), (2, 2), "VALID", (1, 1)),
    ((2, 10, 10, 3), (3, 3, 3, 4), (2, 2), "VALID", (1, 1)),
    ((2, 11, 11, 3), (3, 3, 3, 4), (1, 1), "VALID", (2, 2)),
    ((2, 11, 11, 3), (3, 3, 3, 4), (2, 2), "SAME", (2, 2)),
    ((2, 11, 11, 3), (5, 5, 3, 4), (3, 3), ((1, 2), (0, 1)), (1, 1)),
    ((2, 12, 3), (3, 3, 4), (2,), "SAME", (1,)),
    ((2, 12, 3), (3, 3, 4), (1,), ((2, 0),), (2,)),
]


def _arrays(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [jax.numpy.asarray(rng.normal(size=s), "float32") for s in shapes]


@pytest.fixture
def calls(monkeypatch):
    """The number of convolutions that went through the custom VJP."""
    count = []
    custom = jax_conv._conv

    def counted(*args):
        count.append(1)
        return custom(*args)

    monkeypatch.setattr(jax_conv, "_conv", counted)
    return count


@pytest.mark.parametrize("xs, ws, strides, padding, dilation", CASES)
def test_input_and_kernel_gradients_equal_jax_own(xs, ws, strides, padding, dilation):
    x, w = _arrays(xs, ws)
    spec = ("NHWC", "HWIO", "NHWC") if len(xs) == 4 else ("NWC", "WIO", "NWC")

    def loss(x, w):
        y = jax.lax.conv_general_dilated(
            x, w, strides, padding, rhs_dilation=dilation, dimension_numbers=spec
        )
        return jax.numpy.sum(jax.numpy.sin(y))

    grads = jax.grad(loss, (0, 1))
    expected = grads(x, w)
    with jax_conv.canonical_conv_gradients():
        jaxpr = str(jax.make_jaxpr(grads)(x, w))
        got = jax.jit(grads)(x, w)
    assert "custom_vjp_call" in jaxpr
    for e, g in zip(expected, got):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)
    assert jax.lax.conv_general_dilated is ORIGINAL


def _conv_model(*layers):
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((10, 10, 3)), *layers, keras.layers.Flatten()])


def _input_grad_unpatched(model, x):
    weights = [v.value for v in model.trainable_variables]
    others = [v.value for v in model.non_trainable_variables]

    def loss(x):
        return jax.numpy.sum(model.stateless_call(weights, others, x)[0] ** 2)

    return jax.grad(loss)(x)


def _input_grads_through_the_library(model, x, steps):
    """The input gradient, alone and after `steps` iterations of a `fori_loop`, as attacks do."""

    def fn(forward, x):
        def grad(z):
            return backend.input_grad(lambda z: ops.sum(forward(z) ** 2), z)

        looped = ops.fori_loop(0, steps, lambda i, z: z + 0.0 * grad(z), x)
        return grad(x), grad(looped)

    return backend.compile_model_fn(model, fn)(x)


def test_keras_conv_layers_through_compile_model_fn(calls):
    model = _conv_model(
        keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(5, 3, strides=2, padding="same"),
        keras.layers.Conv2D(6, 2, padding="valid", dilation_rate=2),
        keras.layers.Conv2D(3, 3, strides=2, padding="valid", activation="tanh"),
    )
    x = np.random.default_rng(1).uniform(size=(2, 10, 10, 3)).astype("float32")
    expected = _input_grad_unpatched(model, x)
    direct, looped = _input_grads_through_the_library(model, x, steps=2)
    assert len(calls) >= 4 * 2  # every layer, outside and inside the loop
    np.testing.assert_allclose(direct, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(looped, expected, rtol=1e-5, atol=1e-6)
    assert jax.lax.conv_general_dilated is ORIGINAL


@pytest.mark.parametrize(
    "layer",
    [
        lambda: keras.layers.DepthwiseConv2D(3, padding="same"),
        lambda: keras.layers.Conv2D(6, 3, groups=3, padding="same"),
    ],
    ids=["depthwise", "grouped"],
)
def test_grouped_convolutions_fall_back_to_jax_own(layer, calls):
    model = _conv_model(layer())
    x = np.random.default_rng(2).uniform(size=(2, 10, 10, 3)).astype("float32")
    expected = _input_grad_unpatched(model, x)
    direct, looped = _input_grads_through_the_library(model, x, steps=1)
    assert not calls
    np.testing.assert_allclose(direct, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(looped, expected, rtol=1e-5, atol=1e-6)


def test_kernel_gradients_and_second_order_through_a_keras_model():
    """What training differentiates: the weights, and the weights through an input gradient."""
    model = _conv_model(
        keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="tanh"),
        keras.layers.Conv2D(2, 3, padding="valid", activation="tanh"),
    )
    x = np.random.default_rng(3).uniform(size=(2, 10, 10, 3)).astype("float32")
    weights = [v.value for v in model.trainable_variables]

    def loss(weights):
        def out(z):
            return jax.numpy.sum(model.stateless_call(weights, [], z)[0] ** 2)

        return out(x) + jax.numpy.sum(jax.grad(out)(x) ** 2)

    expected = jax.grad(loss)(weights)
    with jax_conv.canonical_conv_gradients():
        got = jax.jit(jax.grad(loss))(weights)
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-6)


def test_the_original_is_restored_after_an_exception():
    with pytest.raises(RuntimeError, match="inside"):
        with jax_conv.canonical_conv_gradients():
            assert jax.lax.conv_general_dilated is jax_conv.conv_general_dilated
            with jax_conv.canonical_conv_gradients():  # nested: still in place
                pass
            assert jax.lax.conv_general_dilated is jax_conv.conv_general_dilated
            raise RuntimeError("inside")
    assert jax.lax.conv_general_dilated is ORIGINAL


def test_only_on_the_cpu_backend(monkeypatch):
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    with jax_conv.canonical_conv_gradients():
        assert jax.lax.conv_general_dilated is ORIGINAL
