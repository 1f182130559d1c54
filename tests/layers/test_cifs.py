"""CIFS: relevance against finite differences, the IMGFs, the probe loss, training, saving."""

import keras
import numpy as np
import pytest
from keras import ops

from tfrobust import attacks
from tfrobust import objectives
from tfrobust.layers import CIFS
from tfrobust.layers import cifs_insert
from tfrobust.layers import label_scope
from tfrobust.training import adversarial


def features(shape=(3, 4, 4, 6), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def numpy_of(x):
    return ops.convert_to_numpy(x)


def built(layer, shape=(3, 4, 4, 6), seed=0):
    """`layer` built on `shape`, with random (not initial) probe weights."""
    keras.utils.set_random_seed(seed)
    layer.build(shape)
    rng = np.random.default_rng(seed)
    for weight in layer.trainable_weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    return layer


@pytest.mark.jax
@pytest.mark.parametrize("with_labels", [False, True])
def test_relevance_equals_finite_differences_of_the_selected_logits(with_labels):
    layer = built(CIFS(5, top_k=2, hidden_units=7))
    z = features()
    labels = np.array([0, 3, 4]) if with_labels else None
    g = numpy_of(layer.relevance(z, labels))
    logits = numpy_of(layer.probe_logits(z))
    if with_labels:
        others = np.where(np.eye(5)[labels] > 0, -np.inf, logits)
        chosen = [{y, int(np.argmax(o))} for y, o in zip(labels, others)]
    else:
        chosen = [set(np.argsort(row)[-2:].tolist()) for row in logits]
    eps = 1e-2
    expected = np.zeros_like(g)
    for c in range(z.shape[-1]):
        shift = np.zeros_like(z)
        shift[..., c] = eps
        up, down = numpy_of(layer.probe_logits(z + shift)), numpy_of(layer.probe_logits(z - shift))
        for n, classes in enumerate(chosen):
            expected[n, c] = sum(up[n, k] - down[n, k] for k in classes) / (2 * eps)
    np.testing.assert_allclose(g, expected, rtol=1e-2, atol=2e-3)


@pytest.mark.jax
def test_linear_probe_relevance_is_the_sum_of_the_chosen_classes_weights():
    layer = built(CIFS(4, top_k=1))
    z = features()
    top = np.argmax(numpy_of(layer.probe_logits(z)), axis=-1)
    kernel = numpy_of(layer.probe.kernel)
    np.testing.assert_allclose(numpy_of(layer.relevance(z)), kernel[:, top].T,
                               rtol=1e-5, atol=1e-5)


@pytest.mark.jax
@pytest.mark.parametrize("imgf", ["softmax", "softplus", "sigmoid"])
def test_importance_masks_follow_the_paper(imgf):
    g = features((3, 6))
    t, scale = 0.5, 2.0
    mask = numpy_of(CIFS(4, imgf=imgf, temperature=t, scale=scale).importance(g))
    if imgf == "softmax":
        e = np.exp(g / t)
        expected = e / e.sum(axis=-1, keepdims=True)
    elif imgf == "softplus":  # alpha = 1 / T
        expected = np.log1p(np.exp(g / t)) * t
    else:
        expected = 1 / (1 + np.exp(-g / t))
    np.testing.assert_allclose(mask, scale * expected, rtol=1e-5, atol=1e-6)


@pytest.mark.jax
def test_call_scales_channels_and_adds_the_weighted_probe_loss_in_training():
    layer = built(CIFS(5, loss_weight=0.7))
    z, y = features(), np.array([1, 0, 4])
    with label_scope(ops.convert_to_tensor(y)):
        out = layer(z, training=True)
    mask = numpy_of(layer.importance(layer.relevance(z, y)))
    np.testing.assert_allclose(numpy_of(out), z * mask[:, None, None, :], rtol=1e-5, atol=1e-6)
    logits = numpy_of(layer.probe_logits(z)).astype(np.float64)
    log_p = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    ce = -log_p[np.arange(3), y].mean()
    assert len(layer.losses) == 1
    assert float(numpy_of(layer.losses[0])) == pytest.approx(0.7 * ce, rel=1e-4)
    # Inference: the probe's own top-k, no loss.
    inference = layer(z)
    mask = numpy_of(layer.importance(layer.relevance(z)))
    np.testing.assert_allclose(numpy_of(inference), z * mask[:, None, None, :],
                               rtol=1e-5, atol=1e-6)
    assert not layer.losses


@pytest.mark.jax
def test_training_without_labels_says_how_to_train():
    layer = built(CIFS(5))
    with pytest.raises(ValueError, match="tfrobust.training.adversarial"):
        layer(features(), training=True)


@pytest.mark.jax
def test_works_on_pooled_feature_vectors():
    layer = built(CIFS(5), shape=(3, 6))
    z = features((3, 6))
    mask = numpy_of(layer.importance(layer.relevance(z)))
    np.testing.assert_allclose(numpy_of(layer(z)), z * mask, rtol=1e-5, atol=1e-6)


def test_bad_arguments_are_rejected_with_the_value():
    for kwargs, message in [({"num_classes": 1}, "num_classes=1"),
                            ({"num_classes": 5, "top_k": 6}, "top_k=6"),
                            ({"num_classes": 5, "imgf": "relu"}, "imgf='relu'"),
                            ({"num_classes": 5, "temperature": 0}, "temperature=0"),
                            ({"num_classes": 5, "scale": -1.0}, "scale=-1.0"),
                            ({"num_classes": 5, "hidden_units": 0}, "hidden_units=0"),
                            ({"num_classes": 5, "loss_weight": -1}, "loss_weight=-1")]:
        with pytest.raises(ValueError, match=f"Received: {message}"):
            CIFS(**kwargs)
    with pytest.raises(ValueError, match="Received: imgf='x'"):
        cifs_insert("resnet18", 10, imgf="x")


def tiny_model(*layers, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6, 6, 1))
    h = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    for layer in layers:
        h = layer(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(3, name="classifier")(h))


@pytest.mark.jax
def test_one_adversarial_fit_step_updates_every_weight():
    """The second layer has `loss_weight=0`: its probe learns through the mask alone (second
    order, the reference's `create_graph=True`); only its output bias, which no gradient
    depends on, stays."""
    mask_only = CIFS(3, hidden_units=5, loss_weight=0.0, name="mask_only")
    model = tiny_model(CIFS(3, name="cifs"), mask_only)
    robust = adversarial(model, objectives.PGDAT(),
                         attacks.PGD(eps=0.1, step_size=0.05, steps=2))
    robust.compile(optimizer=keras.optimizers.SGD(0.1))
    before = [numpy_of(w).copy() for w in model.trainable_weights]
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 6, 6, 1), dtype=np.float32), rng.integers(0, 3, 8)
    history = robust.fit(x, y, batch_size=8, epochs=1, verbose=0).history
    assert history["layer_loss"][0] > 0
    assert np.isfinite(history["loss"][0])
    assert len(model.trainable_weights) == 2 + 2 + 4 + 2
    for weight, old in zip(model.trainable_weights, before):
        if weight is mask_only.probe.bias:
            np.testing.assert_array_equal(numpy_of(weight), old)
            continue
        assert not np.allclose(numpy_of(weight), old), weight.path


@pytest.mark.jax
def test_keras_save_and_reload_gives_identical_outputs(tmp_path):
    layer = CIFS(3, imgf="softplus", temperature=0.5, hidden_units=4, name="cifs")
    model = tiny_model(layer)
    x = features((2, 6, 6, 1))
    path = str(tmp_path / "cifs.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    restored = reloaded.get_layer("cifs")
    assert isinstance(restored, CIFS)
    assert restored.get_config() == layer.get_config()
    np.testing.assert_array_equal(numpy_of(reloaded(x)), numpy_of(model(x)))


def test_insert_helper_defaults_to_the_last_residual_stage():
    from tfrobust import architectures

    assert sorted(cifs_insert("resnet18", 10)) == ["stage4"]
    assert sorted(cifs_insert("wrn28_10", 10, stages=["stage2", "stage3"])) == ["stage2", "stage3"]
    model = architectures.get("resnet20", width=0.25, input_shape=(8, 8, 3),
                              insert=cifs_insert("resnet20", 10))
    assert isinstance(model.get_layer("stage3_insert"), CIFS)
    assert model(features((2, 8, 8, 3))).shape == (2, 10)
