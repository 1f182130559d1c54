"""Every network builds, runs, survives a `.keras` round trip, and is left
unchanged by identity layers inserted after each of its stages; on both
backends, at small width and input size to stay fast."""

import keras
import numpy as np
import pytest

from tfrobust import architectures

# Widths chosen so that every CIFAR-style net has 8/16/32/64-channel stages:
# JAX compiles each initializer and eager op once per shape, which dominates
# its run time, so shared shapes keep the JAX run short.
_MNIST = dict(input_shape=(28, 28, 1), width=0.5)
_CIFAR = dict(input_shape=(32, 32, 3), width=0.125)  # 64-512 -> 8-64
_SMALL_CIFAR = dict(input_shape=(32, 32, 3), width=0.5)  # 16-64 -> 8-32
_WIDE = dict(input_shape=(32, 32, 3), width=0.05)  # 160-640 -> 8-32
_IMAGENET = dict(input_shape=(32, 32, 3), width=0.125, num_classes=7)
SMALL = {
    "lenet": _MNIST,
    "mnist_cnn": _MNIST,
    "resnet9": _CIFAR,
    "resnet18": _CIFAR,
    "resnet34": _CIFAR,
    "preact_resnet18": _CIFAR,
    "resnet20": _SMALL_CIFAR,
    "resnet32": _SMALL_CIFAR,
    "resnet56": _SMALL_CIFAR,
    "vgg16": _CIFAR,
    "wrn28_10": _WIDE,
    "wrn34_10": _WIDE,
    "resnet50": _IMAGENET,
    "resnet101": _IMAGENET,
    "resnet152": _IMAGENET,
}
# The deep ImageNet nets share ResNet-50's code; skip their slow round trip.
NO_ROUND_TRIP = ("resnet101", "resnet152")


def _images(config, batch=2):
    rng = np.random.default_rng(0)
    return rng.uniform(size=(batch, *config["input_shape"])).astype("float32")


def _identity(name, channels):
    return keras.layers.Identity(name=name)


@pytest.fixture(autouse=True)
def _fresh_session():
    yield
    keras.backend.clear_session()


def test_small_configs_cover_the_registry():
    assert sorted(SMALL) == architectures.list_names()


@pytest.mark.jax
@pytest.mark.parametrize("name", sorted(SMALL))
def test_forward_insertion_and_round_trip(name, tmp_path):
    config = SMALL[name]
    num_classes = config.get("num_classes", 10)
    x = _images(config)
    model = architectures.get(name, **config)
    logits = keras.ops.convert_to_numpy(model(x, training=False))
    assert logits.shape == (2, num_classes)
    assert np.all(np.isfinite(logits))
    assert model.get_layer("classifier").units == num_classes

    # Identity layers after every stage: same weights, same logits.
    seen = {}

    def factory(layer_name, channels):
        seen[layer_name] = channels
        return _identity(layer_name, channels)

    stages = architectures.stage_names(name)
    inserted = architectures.get(name, insert={s: factory for s in stages}, **config)
    assert sorted(seen) == sorted(f"{s}_insert" for s in stages)
    for stage in stages:
        assert seen[f"{stage}_insert"] == model.get_layer(stage).output.shape[-1]
        inserted.get_layer(f"{stage}_insert")
    inserted.set_weights(model.get_weights())
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(inserted(x, training=False)), logits)

    if name in NO_ROUND_TRIP:
        return
    path = tmp_path / f"{name}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(reloaded(x, training=False)), logits)


@pytest.mark.jax
def test_inserted_layer_feeds_the_classifier():
    config = SMALL["resnet20"]
    zero = architectures.get(
        "resnet20",
        insert={"features": lambda name, channels: keras.layers.Rescaling(0.0, name=name)},
        **config,
    )
    logits = keras.ops.convert_to_numpy(zero(_images(config), training=False))
    bias = keras.ops.convert_to_numpy(zero.get_layer("classifier").bias)
    np.testing.assert_allclose(logits, np.broadcast_to(bias, logits.shape))


@pytest.mark.jax
def test_features_layer_taps_the_penultimate_vector():
    config = SMALL["wrn28_10"]
    model = architectures.get("wrn28_10", **config)
    probe = keras.Model(model.inputs, model.get_layer("features").output)
    features = keras.ops.convert_to_numpy(probe(_images(config), training=False))
    kernel = model.get_layer("classifier").kernel
    assert features.shape == (2, kernel.shape[0])


@pytest.mark.jax
def test_one_fit_step_updates_weights():
    config = SMALL["resnet20"]
    model = architectures.get("resnet20", **config)
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    before = keras.ops.convert_to_numpy(model.get_layer("classifier").kernel)
    model.fit(_images(config, batch=4), np.array([0, 1, 2, 3]), epochs=1, verbose=0)
    after = keras.ops.convert_to_numpy(model.get_layer("classifier").kernel)
    assert not np.allclose(before, after)
