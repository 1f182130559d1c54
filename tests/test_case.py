"""Shared test helpers, as keras-hub's `TestCase`: each concrete test is a few declarative lines.

`run_layer_test` checks what every defense layer owes its users (config round
trip, `.keras` reload with identical outputs, one adversarial `fit` step that
trains every weight, bad arguments rejected with the value), through
`adversarial(...)`, the call that training makes. It runs on the current
backend: mark the calling test `jax` to run it on both.
"""

import keras
import numpy as np
import pytest
from keras import ops

from tfrobust import attacks
from tfrobust import objectives
from tfrobust.attacks.protocol import predict_labels
from tfrobust.training import adversarial


def tiny_classifier(layer, input_shape, num_classes, seed=1):
    """The smallest classifier around `layer`: inputs, the layer, pooling, a Dense head."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(input_shape)
    x = layer(inputs)
    if len(input_shape) == 3:
        x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))


def batch(input_shape, num_classes, n=8, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, *input_shape), dtype=np.float32), np.arange(n) % num_classes)


def mlp_and_batch(input_shape, n=16, seed=0):
    """A small random ReLU classifier over 10 classes, `n` uniform points, and its own labels.

    Labels are the model's predictions, so every point starts correctly classified,
    as an attack expects of the points it is given.
    """
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    x = np.random.default_rng(seed).uniform(0, 1, (n, *input_shape)).astype("float32")
    return model, x, predict_labels(model, x)


def fit_one_step(model, objective=None, attack=None, x=None, y=None):
    """One `adversarial(model, objective, attack).fit` step on (x, y); its history."""
    objective = objective or objectives.PGDAT()
    attack = attack or attacks.PGD(eps=0.1, step_size=0.05, steps=1)
    robust = adversarial(model, objective, attack)
    robust.compile(optimizer=keras.optimizers.SGD(0.1))
    return robust.fit(x, y, batch_size=len(x), epochs=1, verbose=0).history


def assert_weights_changed(weights, before, unchanged=()):
    """Every weight moved from its `before` value, except those in `unchanged`."""
    assert len(weights) == len(before) > 0
    for weight, old in zip(weights, before):
        new = ops.convert_to_numpy(weight)
        if any(weight is w for w in unchanged):
            np.testing.assert_array_equal(new, old, err_msg=weight.path)
        else:
            assert not np.allclose(new, old), f"{weight.path} did not train"


def run_layer_test(
    layer_factory,
    input_shape,
    num_classes,
    tmp_path,
    bad_kwargs=(),
    objective=None,
    attack=None,
    unchanged=lambda layer: (),
    adds_loss=True,
):
    """The contract of a defense layer.

    Args:
        layer_factory: `**kwargs -> layer`; called with no arguments for the layer under
            test and with each of `bad_kwargs` for the rejections.
        input_shape: the layer's input shape without the batch axis.
        num_classes: classes of the tiny classifier around the layer.
        tmp_path: where the `.keras` file goes.
        bad_kwargs: argument sets that must raise `ValueError` naming the value.
        objective, attack: of the fit step (default PGD-AT against a one-step PGD).
        unchanged: `layer -> weights` that the fit step provably leaves alone.
        adds_loss: whether the layer adds a training loss (`layer_loss` must be > 0).
    """
    layer = layer_factory()
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config

    model = tiny_classifier(layer, input_shape, num_classes)
    x, y = batch(input_shape, num_classes)
    path = str(tmp_path / "layer.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    restored = reloaded.get_layer(layer.name)
    assert type(restored) is type(layer) and restored.get_config() == config
    np.testing.assert_allclose(
        ops.convert_to_numpy(reloaded(x)), ops.convert_to_numpy(model(x)), rtol=1e-6, atol=1e-6
    )

    before = [ops.convert_to_numpy(w).copy() for w in layer.trainable_weights]
    history = fit_one_step(model, objective, attack, x, y)
    assert np.isfinite(history["loss"][0])
    assert_weights_changed(layer.trainable_weights, before, unchanged(layer))
    if adds_loss:
        assert history["layer_loss"][0] > 0

    for kwargs in bad_kwargs:
        with pytest.raises(ValueError, match="Received"):
            layer_factory(**kwargs)
