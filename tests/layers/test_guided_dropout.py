"""Guided Dropout: the mask by hand, inference is untouched, training through `fit`."""

import keras
import numpy as np
import pytest
from keras import ops

from tfrobust import architectures
from tfrobust import attacks
from tfrobust import objectives
from tfrobust.layers import GuidedDropout
from tfrobust.layers import label_scope
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
    np.testing.assert_allclose(ops.convert_to_numpy(wrapped(x)), ops.convert_to_numpy(model(x)),
                               rtol=1e-5, atol=1e-6)
    wrapped.save(tmp_path / "gd.keras")
    reloaded = keras.saving.load_model(tmp_path / "gd.keras")
    np.testing.assert_allclose(ops.convert_to_numpy(reloaded(x)), ops.convert_to_numpy(wrapped(x)),
                               rtol=1e-6)


def test_aalp_with_guided_dropout_trains_every_weight():
    keras.utils.set_random_seed(0)
    model = with_guided_dropout(architectures.get("lenet", num_classes=10,
                                                  input_shape=(28, 28, 1)))
    robust = adversarial(model, objectives.AALP(), attacks.PGD(eps=0.3, step_size=0.1, steps=2))
    robust.compile(optimizer=keras.optimizers.SGD(0.1))
    before = [ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 16)
    history = robust.fit(x, y, batch_size=16, verbose=0).history
    assert np.isfinite(history["loss"][0])
    for weight, old in zip(model.trainable_weights, before):
        assert not np.allclose(ops.convert_to_numpy(weight), old), weight.path
