"""Guided Dropout: the mask by hand, inference is untouched, training through `fit`."""

import keras
import numpy as np
import pytest
from keras import ops

from tfrobust import architectures
from tfrobust import attacks
from tfrobust import objectives
from tfrobust.labels import label_scope
from tfrobust.layers import GuidedDropout
from tfrobust.layers import with_guided_dropout
from tfrobust.training import adversarial

pytestmark = pytest.mark.jax


def _head(kernel, bias):
    head = keras.layers.Dense(kernel.shape[1])
    head.build((None, kernel.shape[0]))
    head.set_weights([kernel, bias])
    return GuidedDropout(head)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_mask_keeps_the_features_with_top_half_contribution():
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(6, 3)).astype("float32"), np.zeros(3, "float32")
    features, labels = rng.random((4, 6)).astype("float32"), np.array([0, 2, 1, 2])
    # dCE/dA = (softmax(A W) - onehot(y)) W^T for a Dense head.
    grad = (_softmax(features @ kernel) - np.eye(3)[labels]) @ kernel.T
    importance = np.abs(grad * features).mean(axis=0)
    expected = (importance >= np.median(importance)).astype("float32")

    layer = _head(kernel, bias)
    with label_scope(ops.convert_to_tensor(labels)):
        mask = ops.convert_to_numpy(layer.mask(ops.convert_to_tensor(features)))
        logits = ops.convert_to_numpy(layer(features, training=True))
    np.testing.assert_array_equal(mask, expected)
    assert mask.sum() == 3
    np.testing.assert_allclose(logits, (features * expected) @ kernel, rtol=1e-5, atol=1e-6)


def test_inference_is_the_plain_head():
    rng = np.random.default_rng(1)
    kernel, bias = rng.normal(size=(4, 2)).astype("float32"), np.ones(2, "float32")
    features = rng.random((3, 4)).astype("float32")
    out = ops.convert_to_numpy(_head(kernel, bias)(features, training=False))
    np.testing.assert_allclose(out, features @ kernel + bias, rtol=1e-5)


def test_without_labels_the_predicted_class_is_used():
    rng = np.random.default_rng(2)
    kernel, bias = rng.normal(size=(6, 3)).astype("float32"), np.zeros(3, "float32")
    features = rng.random((5, 6)).astype("float32")
    layer = _head(kernel, bias)
    predicted = np.argmax(features @ kernel, axis=1)
    with label_scope(ops.convert_to_tensor(predicted)):
        with_labels = ops.convert_to_numpy(layer.mask(features))
    np.testing.assert_array_equal(ops.convert_to_numpy(layer.mask(features)), with_labels)


def test_wrapped_lenet_keeps_weights_outputs_and_round_trips(tmp_path):
    keras.utils.set_random_seed(0)
    model = architectures.get("lenet", num_classes=10, input_shape=(28, 28, 1))
    wrapped = with_guided_dropout(model)
    assert isinstance(wrapped.get_layer("classifier"), GuidedDropout)
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(
        ops.convert_to_numpy(wrapped(x)), ops.convert_to_numpy(model(x)), rtol=1e-5, atol=1e-6
    )
    wrapped.save(tmp_path / "gd.keras")
    reloaded = keras.saving.load_model(tmp_path / "gd.keras")
    np.testing.assert_allclose(
        ops.convert_to_numpy(reloaded(x)), ops.convert_to_numpy(wrapped(x)), rtol=1e-6
    )


def test_aalp_with_guided_dropout_trains_every_weight():
    keras.utils.set_random_seed(0)
    model = with_guided_dropout(architectures.get("lenet", num_classes=10, input_shape=(28, 28, 1)))
    robust = adversarial(model, objectives.AALP(), attacks.PGD(eps=0.3, step_size=0.1, steps=2))
    robust.compile(optimizer=keras.optimizers.SGD(0.1))
    before = [ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 16)
    history = robust.fit(x, y, batch_size=16, verbose=0).history
    assert np.isfinite(history["loss"][0])
    for weight, old in zip(model.trainable_weights, before):
        assert not np.allclose(ops.convert_to_numpy(weight), old), weight.path


def _cross_entropy(z, y):
    return -np.log(_softmax(z)[np.arange(len(y)), y])


def _masked_logits(a, y, kernel, bias):
    """The head on the features whose mean |dCE/dA * A| with the true labels is >= the median."""
    p = _softmax(a @ kernel + bias)
    grad = (p - np.eye(kernel.shape[1])[y]) @ kernel.T  # dCE/dA of a Dense head
    importance = np.abs(grad * a).mean(axis=0)
    return (a * (importance >= np.median(importance))) @ kernel + bias


def test_aalp_step_uses_the_mask_of_the_true_labels_on_each_pass():
    """Through `adversarial(..., AALP()).fit`: both training passes see their own mask (Eq. 7-8)."""
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(6, 3)).astype("float32"), np.zeros(3, "float32")
    inputs = keras.Input((1, 1, 6))
    model = keras.Model(inputs, _head(kernel, bias)(keras.layers.Flatten()(inputs)))
    objective = objectives.AALP(alpha=1.0)
    robust = adversarial(model, objective, attacks.PGD(eps=0.1, step_size=0.05, steps=2, seed=1))
    robust.compile(optimizer=keras.optimizers.SGD(0.0))
    x, y = rng.random((8, 1, 1, 6)).astype("float32"), rng.integers(0, 3, 8)
    seed = ops.convert_to_numpy(robust.attack.seed_generator.state).copy()
    history = robust.fit(x, y, batch_size=8, verbose=0, shuffle=False).history
    robust.attack.seed_generator.state.assign(seed)
    x_adv = ops.convert_to_numpy(
        robust.generate(ops.convert_to_tensor(x), ops.convert_to_tensor(y.astype("int32")))[0]
    )
    z_clean = _masked_logits(x.reshape(8, 6), y, kernel, bias)
    z_adv = _masked_logits(x_adv.reshape(8, 6), y, kernel, bias)
    confidence = _softmax(z_clean)[np.arange(8), y]
    expected = (
        0.5 * _cross_entropy(z_clean, y).mean()
        + 0.5 * _cross_entropy(z_adv, y).mean()
        + (confidence * ((z_clean - z_adv) ** 2).sum(axis=1)).mean()
    )
    assert history["loss"][0] == pytest.approx(expected, rel=1e-4)
