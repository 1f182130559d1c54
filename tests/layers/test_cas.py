"""CAS: channel reweighting by hand, the loss, and the layer contract."""

import keras
import numpy as np
import pytest
from keras import ops

from tests.test_case import run_layer_test
from tfrobust.architectures import cas_insert
from tfrobust.labels import label_scope
from tfrobust.layers import CAS

CHANNELS, CLASSES = 5, 3


def _layer(**kwargs):
    keras.utils.set_random_seed(0)
    layer = CAS(CHANNELS, num_classes=CLASSES, **kwargs)
    layer.build((None, 4, 4, CHANNELS))
    return layer


def _features(n=4, seed=0):
    return np.random.default_rng(seed).random((n, 4, 4, CHANNELS)).astype("float32")


def _head(layer, x):
    kernel, bias = (ops.convert_to_numpy(w) for w in layer.head.weights)
    return kernel, x.mean(axis=(1, 2)) @ kernel + bias


@pytest.mark.jax
def test_inference_scales_channels_by_the_predicted_class_weights():
    layer, x = _layer(), _features()
    kernel, logits = _head(layer, x)
    expected = x * kernel.T[logits.argmax(axis=1)][:, None, None, :]
    np.testing.assert_allclose(ops.convert_to_numpy(layer(x)), expected, rtol=1e-5, atol=1e-6)
    assert layer.losses == []


@pytest.mark.jax
@pytest.mark.parametrize("kwargs", [{}, {"beta": 0.5, "num_layers": 2}])
def test_training_uses_the_true_class_and_adds_the_scaled_cross_entropy(kwargs):
    layer, x, y = _layer(**kwargs), _features(), np.array([0, 1, 2, 1])
    kernel, logits = _head(layer, x)
    with label_scope(ops.convert_to_tensor(y)):
        out = ops.convert_to_numpy(layer(x, training=True))
    np.testing.assert_allclose(out, x * kernel.T[y][:, None, None, :], rtol=1e-5, atol=1e-6)
    shifted = logits - logits.max(axis=1, keepdims=True)
    cross_entropy = -(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))[
        np.arange(4), y
    ].mean()
    expected = kwargs.get("beta", 2.0) * cross_entropy / kwargs.get("num_layers", 1)
    (loss,) = layer.losses
    assert float(ops.convert_to_numpy(loss)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.jax
def test_vector_features_work_too():
    layer = CAS(CHANNELS, num_classes=CLASSES)
    x = _features()[:, 0, 0, :]
    out = ops.convert_to_numpy(layer(x))
    kernel, logits = _head(layer, x[:, None, None, :])
    np.testing.assert_allclose(out, x * kernel.T[logits.argmax(axis=1)], rtol=1e-5, atol=1e-6)


@pytest.mark.jax
def test_training_without_labels_says_how_to_train():
    with pytest.raises(ValueError, match="tfrobust.training.adversarial"):
        _layer()(_features(), training=True)


@pytest.mark.jax
def test_layer_contract(tmp_path):
    """Config and `.keras` round trips, one adversarial fit step training every weight, and
    bad arguments rejected."""
    run_layer_test(
        lambda **kwargs: CAS(
            **{"channels": CHANNELS, "num_classes": CLASSES, "name": "cas", **kwargs}
        ),
        (4, 4, CHANNELS),
        CLASSES,
        tmp_path,
        bad_kwargs=[{"channels": 0}, {"num_classes": 0}, {"beta": -1.0}, {"num_layers": 0}],
    )


@pytest.mark.jax
def test_insert_defaults_to_the_last_stage_and_sets_k():
    assert list(cas_insert("resnet18", 10)) == ["stage4"]
    layer = cas_insert("resnet18", 10, stages=("stage3", "stage4"), beta=1.0)["stage4"](
        "stage4_insert", 16
    )
    assert (layer.num_layers, layer.channels, layer.beta, layer.name) == (
        2,
        16,
        1.0,
        "stage4_insert",
    )
    with pytest.raises(ValueError, match="Received"):
        cas_insert("resnet18", 10, beta=-2.0)


@pytest.mark.jax
def test_the_recipes_training_attack_ascends_the_references_joint_loss_in_inference_mode():
    """The CAS reference's training attack (attack/reg_attack.py) ascends CE(output) +
    beta * CE(head) with the model in eval mode (channels weighted by the head's predicted
    class), beta 2: what the recipe builds and the training step runs."""
    from tfrobust.recipes import build
    from tfrobust.recipes import load_recipe

    recipe = load_recipe("recipes/cas_cifar10_resnet18_pgd_at.yaml", scale="cpu")
    attack = build.attack(recipe)
    assert (attack.beta, attack.steps, attack.step_size) == (2.0, 5, pytest.approx(2 / 255))
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 4, 2))
    features = keras.layers.Conv2D(CHANNELS, 3, padding="same", name="conv")(inputs)
    cas = CAS(CHANNELS, num_classes=CLASSES, name="cas")
    pooled = keras.layers.GlobalAveragePooling2D()(cas(features))
    model = keras.Model(inputs, keras.layers.Dense(CLASSES, name="classifier")(pooled))
    rng = np.random.default_rng(0)
    x = rng.random((6, 4, 4, 2), dtype=np.float32)
    y = rng.integers(0, CLASSES, 6).astype("int32")
    _, value = attack.logits_and_loss(
        lambda z: model(z, training=False), ops.convert_to_tensor(x), ops.convert_to_tensor(y)
    )
    conv = ops.convert_to_numpy(keras.Model(inputs, features)(x))
    kernel, head = _head(cas, conv)
    masked = conv * kernel.T[head.argmax(-1)][:, None, None, :]  # the predicted class's row
    dense_w, dense_b = (ops.convert_to_numpy(w) for w in model.get_layer("classifier").weights)
    output = masked.mean(axis=(1, 2)) @ dense_w + dense_b

    def ce(logits):
        shifted = logits - logits.max(-1, keepdims=True)
        return np.log(np.exp(shifted).sum(-1)) - shifted[np.arange(len(y)), y]

    np.testing.assert_allclose(
        ops.convert_to_numpy(value), ce(output) + 2.0 * ce(head), rtol=1e-4, atol=1e-5
    )
    # The training step calls it as `generate` does: in inference mode, inside the ball.
    x_adv, _ = build.trainer(recipe, model).generate(
        ops.convert_to_tensor(x), ops.convert_to_tensor(y)
    )
    assert 0 < np.abs(ops.convert_to_numpy(x_adv) - x).max() <= 8 / 255 + 1e-6
