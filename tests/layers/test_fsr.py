"""FSR: the mask, the output and loss formulas by hand, ablations, saving, training."""

import keras
import numpy as np
import pytest
from keras import ops

from tests.test_case import run_layer_test
from tests.test_case import tiny_classifier
from tfrobust import architectures
from tfrobust import attacks
from tfrobust import objectives
from tfrobust.architectures import fsr_insert
from tfrobust.labels import label_scope
from tfrobust.layers import FSR
from tfrobust.training import adversarial

# hidden_channels == CHANNELS: one kernel shape, fewer JAX compilations.
CHANNELS, CLASSES = 4, 3


def _layer(seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    kwargs = {"num_classes": CLASSES, "hidden_channels": 4, "seed": seed, **kwargs}
    layer = FSR(CHANNELS, **kwargs)
    layer.build((None, 4, 4, CHANNELS))
    return layer


def _features(n=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 4, 4, CHANNELS)).astype("float32")


def _labels(n=4):
    return np.arange(n) % CLASSES


def _np(parts):
    return {key: ops.convert_to_numpy(value) for key, value in parts.items()}


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _cross_entropy(logits, labels):
    logits = logits - logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels].mean()


@pytest.mark.jax
@pytest.mark.parametrize("training", [False, True])
def test_mask_lies_in_open_unit_interval_and_the_parts_add_up(training):
    layer, x = _layer(tau=1.0), _features()
    parts = _np(layer.separate(x, training=training))
    assert 0.0 < parts["robust_mask"].min() and parts["robust_mask"].max() < 1.0
    # m+ + m- = 1: the robust and non-robust parts add up to the input.
    np.testing.assert_allclose(parts["robust"] + parts["non_robust"], x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(parts["robust"], parts["robust_mask"] * x, rtol=1e-5, atol=1e-6)


@pytest.mark.jax
def test_inference_mask_is_sigmoid_of_robustness_map_over_tau_and_deterministic():
    layer, x = _layer(tau=0.5), _features()
    r = ops.convert_to_numpy(layer.separation_net(x, training=False))
    first = ops.convert_to_numpy(layer.robust_mask(x))
    np.testing.assert_allclose(first, _sigmoid(r / 0.5), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(first, ops.convert_to_numpy(layer.robust_mask(x)))


@pytest.mark.jax
def test_training_mask_is_gumbel_noisy():
    layer, x = _layer(tau=1.0), _features()
    first = ops.convert_to_numpy(layer.robust_mask(x, training=True))
    second = ops.convert_to_numpy(layer.robust_mask(x, training=True))
    assert np.abs(first - second).max() > 1e-3


@pytest.mark.jax
@pytest.mark.parametrize("training", [False, True])
def test_mask_tends_to_binary_as_tau_goes_to_zero(training):
    weights, x = _layer().get_weights(), _features()
    distance = []
    for tau in (1.0, 0.1, 0.01, 0.001):
        layer = _layer(tau=tau)
        layer.set_weights(weights)
        mask = ops.convert_to_numpy(layer.robust_mask(x, training=training))
        distance.append(np.minimum(mask, 1.0 - mask).mean())
    assert all(a > b for a, b in zip(distance, distance[1:])), distance
    assert distance[-1] < 0.01


@pytest.mark.jax
def test_output_is_robust_plus_recalibrated_non_robust():
    layer, x = _layer(), _features()
    parts = _np(layer.separate(x))
    m_minus = 1.0 - parts["robust_mask"]
    f_minus = m_minus * x
    recalibration = ops.convert_to_numpy(layer.recalibration_net(f_minus, training=False))
    expected = parts["robust_mask"] * x + f_minus + m_minus * recalibration
    np.testing.assert_allclose(ops.convert_to_numpy(layer(x)), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.jax
def test_zero_recalibration_gives_the_identity():
    layer, x = _layer(), _features()
    last = layer.recalibration_net.layers[-1]
    last.kernel.assign(np.zeros(last.kernel.shape, "float32"))
    np.testing.assert_allclose(ops.convert_to_numpy(layer(x)), x, rtol=1e-5, atol=1e-6)


@pytest.mark.jax
def test_without_separation_and_recalibration_it_is_the_identity_with_no_weights():
    layer, x = _layer(separation=False, recalibration=False), _features()
    assert layer.weights == []
    # No loss, so no labels needed even in training mode.
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(x, training=True)), x)
    assert layer.losses == []


@pytest.mark.jax
def test_without_recalibration_the_non_robust_part_is_deactivated():
    layer, x = _layer(recalibration=False), _features()
    assert layer.recalibration_net is None
    mask = ops.convert_to_numpy(layer.robust_mask(x))
    np.testing.assert_allclose(ops.convert_to_numpy(layer(x)), mask * x, rtol=1e-5, atol=1e-6)


@pytest.mark.jax
def test_without_separation_the_whole_feature_is_recalibrated():
    layer, x = _layer(separation=False), _features()
    assert layer.separation_net is None
    recalibration = ops.convert_to_numpy(layer.recalibration_net(x, training=False))
    np.testing.assert_allclose(
        ops.convert_to_numpy(layer(x)), x + recalibration, rtol=1e-4, atol=1e-5
    )


@pytest.mark.jax
def test_binary_mask_is_hard():
    layer, x = _layer(mask="binary"), _features()
    r = ops.convert_to_numpy(layer.separation_net(x, training=False))
    mask = ops.convert_to_numpy(layer.robust_mask(x))
    np.testing.assert_array_equal(mask, (r > 0).astype("float32"))
    noisy = ops.convert_to_numpy(layer.robust_mask(x, training=True))
    assert set(np.unique(noisy)) <= {0.0, 1.0}


def _expected_loss(layer, parts, labels, model_logits, lambda_sep, lambda_rec):
    """Eq. 5 as the reference's train.py computes it, y' from the model's output."""
    kernel, bias = (ops.convert_to_numpy(w) for w in layer.aux_head.weights)

    def logits(features):
        return features.mean(axis=(1, 2)) @ kernel + bias

    # get_pred: the second-ranked class where the top one is the label, else the top one.
    ranked = np.argsort(-model_logits, axis=1)
    wrong = np.where(ranked[:, 0] == labels, ranked[:, 1], ranked[:, 0])
    separation = _cross_entropy(logits(parts["robust"]), labels) + _cross_entropy(
        logits(parts["non_robust"]), wrong
    )
    recalibration = _cross_entropy(logits(parts["recalibrated"]), labels)
    return lambda_sep * separation + lambda_rec * recalibration


def _model_logits(n=4, seed=1):
    return np.random.default_rng(seed).normal(size=(n, CLASSES)).astype("float32")


@pytest.mark.jax
@pytest.mark.parametrize("kwargs", [{}, {"lambda_sep": 0.5, "lambda_rec": 2.0, "num_layers": 2}])
def test_training_loss_matches_equation_5_by_hand(kwargs):
    layer, x, y, model_logits = _layer(**kwargs), _features(), _labels(), _model_logits()
    state = ops.convert_to_numpy(layer.seed_generator.state)
    with label_scope(ops.convert_to_tensor(y)) as training_pass:
        layer(x, training=True)
    assert layer.losses == []  # the loss needs the model's output: it is deferred
    (loss,) = training_pass.output_losses(ops.convert_to_tensor(model_logits))
    # Replay the same Gumbel noise to read the parts the loss saw.
    layer.seed_generator.state.assign(state)
    parts = _np(layer.separate(x, training=True))
    expected = _expected_loss(
        layer, parts, y, model_logits, kwargs.get("lambda_sep", 1.0), kwargs.get("lambda_rec", 1.0)
    ) / kwargs.get("num_layers", 1)
    assert float(ops.convert_to_numpy(loss)) == pytest.approx(expected, rel=1e-4)


@pytest.mark.jax
def test_wrong_class_target_follows_the_models_prediction_not_the_non_robust_head():
    layer, x, y = _layer(), _features(), _labels()
    with label_scope(ops.convert_to_tensor(y)) as training_pass:
        layer(x, training=True)
    # Two model outputs that differ only in which wrong class ranks first.
    first, second = np.full((4, CLASSES), -5.0, "float32"), np.full((4, CLASSES), -5.0, "float32")
    first[np.arange(4), (y + 1) % CLASSES] = 5.0
    second[np.arange(4), (y + 2) % CLASSES] = 5.0
    a, b = (
        float(ops.convert_to_numpy(training_pass.output_losses(ops.convert_to_tensor(z))[0]))
        for z in (first, second)
    )
    assert a != pytest.approx(b, rel=1e-6)


@pytest.mark.jax
def test_mixed_precision_computes_in_float16_and_keeps_the_loss_in_float32():
    layer, x = _layer(dtype="mixed_float16"), _features()
    with label_scope(ops.convert_to_tensor(_labels())) as training_pass:
        out = layer(x, training=True)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    assert np.isfinite(ops.convert_to_numpy(out)).all()
    (loss,) = training_pass.output_losses(ops.convert_to_tensor(_model_logits(), "float16"))
    assert keras.backend.standardize_dtype(loss.dtype) == "float32"


@pytest.mark.jax
def test_inference_adds_no_loss_and_training_without_labels_says_how_to_train():
    layer, x = _layer(), _features()
    layer(x, training=False)
    assert layer.losses == []
    with pytest.raises(ValueError, match="tfrobust.training.adversarial"):
        layer(x, training=True)


@pytest.mark.jax
def test_wrong_channel_count_is_rejected_at_build():
    with pytest.raises(ValueError, match="Received: input_shape"):
        FSR(8)(np.zeros((1, 4, 4, 3), "float32"))


BAD_KWARGS = [
    {"channels": 0},
    {"num_classes": 1},
    {"tau": 0.0},
    {"tau": float("inf")},
    {"lambda_sep": -1.0},
    {"num_layers": 0},
    {"separation": "yes"},
    {"mask": "soft"},
]


@pytest.mark.jax
@pytest.mark.parametrize(
    "objective, kwargs",
    [
        (objectives.PGDAT(), {"mask": "gumbel"}),
        (objectives.TRADES(), {"mask": "binary", "tau": 0.2, "lambda_sep": 0.5, "num_layers": 2}),
    ],
    ids=["pgdat-gumbel", "trades-binary"],
)
def test_layer_contract(objective, kwargs, tmp_path):
    """Config and `.keras` round trips, one adversarial fit step training every weight (with
    the binary mask, S learns through the straight-through gradient), bad arguments."""
    run_layer_test(
        lambda **bad: FSR(
            **{
                "channels": CHANNELS,
                "num_classes": CLASSES,
                "hidden_channels": 4,
                "seed": 3,
                **kwargs,
                **bad,
            }
        ),
        (4, 4, CHANNELS),
        CLASSES,
        tmp_path,
        objective=objective,
        bad_kwargs=BAD_KWARGS,
    )


@pytest.mark.jax
def test_insert_defaults_to_block_4_and_sets_one_over_the_number_of_layers():
    assert list(fsr_insert("resnet18", 10)) == ["stage4"]
    insert = fsr_insert("resnet18", 10, stages=("stage3", "stage4"), tau=0.5)
    layer = insert["stage3"]("stage3_insert", 16)
    assert (layer.num_layers, layer.channels, layer.num_classes, layer.tau) == (2, 16, 10, 0.5)
    assert layer.name == "stage3_insert"
    for bad in (
        {"stages": "stage4"},
        {"stages": ("stage4", "stage4")},
        {"num_layers": 3},
        {"tau": -1.0},
    ):
        with pytest.raises(ValueError, match="Received"):
            fsr_insert("resnet18", 10, **bad)


def test_parameter_overhead_on_cifar_resnet18_matches_the_paper():
    """Table 7: 11.17M -> 12.43M parameters, +1.26M (PyTorch counts trainable ones).

    Counting is backend-independent, so TF only: building ResNet-18 costs JAX ~25 s.
    """
    plain = architectures.get("resnet18", num_classes=10)
    with_fsr = architectures.get("resnet18", num_classes=10, insert=fsr_insert("resnet18", 10))
    overhead = sum(int(np.prod(w.shape)) for w in with_fsr.trainable_weights) - sum(
        int(np.prod(w.shape)) for w in plain.trainable_weights
    )
    assert overhead == pytest.approx(1.26e6, rel=0.1)
    # S and R: 3x3 convs 512->64->64->512 with two BNs each; the head 512 -> 10.
    assert overhead == 2 * (9 * (512 * 64 + 64 * 64 + 64 * 512) + 2 * 2 * 64) + 512 * 10 + 10


@pytest.mark.jax
@pytest.mark.parametrize(
    "objective", [objectives.PGDAT(), objectives.TRADES()], ids=["pgdat", "trades"]
)
def test_fit_adds_equation_5_once_from_the_adversarial_pass(objective):
    """Through `adversarial(...).fit`: the reference's L_sep + L_rec on x_adv, y' = get_pred.

    Under TRADES the clean pass also runs in training mode (drawing Gumbel
    noise), but its FSR loss does not count, as in the reference's training.
    """
    layer = _layer()
    model = tiny_classifier(layer, (4, 4, CHANNELS), CLASSES)
    robust = adversarial(model, objective, attacks.PGD(eps=0.1, step_size=0.05, steps=2, seed=1))
    robust.compile(optimizer=keras.optimizers.SGD(0.0))
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 4, 4, CHANNELS), dtype=np.float32), _labels(8)
    state = [ops.convert_to_numpy(v).copy() for v in robust.non_trainable_variables]
    history = robust.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False).history
    # Replay the step: same attack start, BatchNorm statistics and Gumbel noise.
    for variable, value in zip(robust.non_trainable_variables, state):
        variable.assign(value)
    labels = ops.convert_to_tensor(y.astype("int32"))
    x_adv = robust.generate(ops.convert_to_tensor(x), labels)[0]
    if objective.needs_clean:
        with label_scope(labels):
            model(ops.convert_to_tensor(x), training=True)  # draws the clean pass's noise
    noise = ops.convert_to_numpy(layer.seed_generator.state).copy()
    parts = _np(layer.separate(x_adv, training=True))
    layer.seed_generator.state.assign(noise)
    with label_scope(labels):
        model_logits = ops.convert_to_numpy(model(x_adv, training=True))
    expected = _expected_loss(layer, parts, y, model_logits, 1.0, 1.0)
    assert history["layer_loss"][0] == pytest.approx(expected, rel=1e-4)
