"""PGD on CIFS's joint loss: its value, its equality with PGD, a case only it solves."""

import keras
import numpy as np
import pytest
from keras import ops

from tfrobust import evaluation
from tfrobust.attacks import PGD
from tfrobust.attacks.joint_loss import JointLossPGD
from tfrobust.evaluation import registry
from tfrobust.layers import CIFS


def numpy_of(x):
    return ops.convert_to_numpy(x)


def log_softmax(logits):
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def ce(logits, y):
    return -log_softmax(logits)[np.arange(len(y)), y]


def cifs_model(seed=0, with_cifs=True):
    """Conv, a non-linear-probe CIFS, conv, a linear-probe CIFS, pool, Dense: random weights."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6, 6, 2))
    h = keras.layers.Conv2D(5, 3, padding="same", activation="relu", name="conv1")(inputs)
    if with_cifs:
        h = CIFS(4, hidden_units=6, name="cifs1")(h)
    h = keras.layers.Conv2D(5, 3, padding="same", name="conv2")(h)
    if with_cifs:
        h = CIFS(4, name="cifs2")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inputs, keras.layers.Dense(4, name="classifier")(h))
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        weight.assign(rng.normal(scale=0.7, size=weight.shape).astype("float32"))
    return model


def batch(n=6, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((n, 6, 6, 2), dtype=np.float32), rng.integers(0, 4, n).astype("int32")


@pytest.mark.jax
@pytest.mark.parametrize("loss", ["ce", "cw"])
def test_joint_loss_is_the_final_loss_plus_beta_over_I_times_the_probe_losses(loss):
    model = cifs_model()
    x, y = batch()
    attack = JointLossPGD(eps=0.1, beta=3.0, loss=loss)
    logits, value = attack.logits_and_loss(
        lambda z: model(z, training=False), ops.convert_to_tensor(x), ops.convert_to_tensor(y)
    )
    heads = [numpy_of(logits)]
    for name in ("cifs1", "cifs2"):
        layer = model.get_layer(name)
        features = keras.Model(model.inputs, layer.input)(x, training=False)
        heads.append(numpy_of(layer.probe_logits(features)))
    np.testing.assert_allclose(heads[0], numpy_of(model(x)), rtol=1e-5, atol=1e-6)
    if loss == "ce":
        per_head = [ce(h, y) for h in heads]
    else:  # max_{j != y} z_j - z_y
        per_head = [
            np.where(np.eye(4)[y] > 0, -np.inf, h).max(-1) - h[np.arange(len(y)), y] for h in heads
        ]
    expected = per_head[0] + 3.0 / 2 * (per_head[1] + per_head[2])
    np.testing.assert_allclose(numpy_of(value), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.jax
def test_equals_pgd_with_zero_probe_weight_or_without_cifs_layers():
    x, y = batch()
    kwargs = {"eps": 0.05, "step_size": 0.01, "steps": 5, "random_start": False}
    model = cifs_model()
    pgd = numpy_of(PGD(**kwargs)(model, x, y))
    assert np.abs(pgd - x).max() > 0.04  # the attack moved
    np.testing.assert_allclose(
        numpy_of(JointLossPGD(beta=0.0, **kwargs)(model, x, y)), pgd, atol=1e-6
    )
    plain = cifs_model(with_cifs=False)
    np.testing.assert_allclose(
        numpy_of(JointLossPGD(beta=2.0, **kwargs)(plain, x, y)),
        numpy_of(PGD(**kwargs)(plain, x, y)),
        atol=1e-6,
    )
    # With the probes weighted, the path differs; a compiled loop (long attacks, PGD-100)
    # collects the probes inside its body as the unrolled steps do.
    joint = numpy_of(JointLossPGD(beta=2.0, **kwargs)(model, x, y))
    assert np.abs(joint - pgd).max() > 1e-3
    np.testing.assert_allclose(
        numpy_of(JointLossPGD(beta=2.0, unroll=False, **kwargs)(model, x, y)), joint, atol=1e-6
    )


def switch_model():
    """A CIFS model whose final logits have zero gradient at the clean points.

    Features z = x (two channels). The linear probe says class 0 when z0 > z1
    and class 1 otherwise; at T = 0.01 its softmax mask keeps only channel 0,
    resp. 1. The classifier outputs f0 = 0, f1 = -1 + 10 relu(u1 - 0.3) on the
    masked features u: class 0 while channel 1 is masked (the relu is dead, so
    the logits' gradient is zero), class 1 once z1 > z0 and z1 > 0.4. Only the
    probe's loss tells an attack to raise z1 above z0.
    """
    inputs = keras.Input((1, 1, 2))
    cifs = CIFS(2, top_k=1, temperature=0.01, name="cifs")
    h = keras.layers.Flatten()(cifs(inputs))
    h = keras.layers.Dense(1, activation="relu", name="gate")(h)
    model = keras.Model(inputs, keras.layers.Dense(2, name="classifier")(h))
    cifs.probe.set_weights(
        [np.array([[1.0, -1.0], [-1.0, 1.0]], "float32"), np.zeros(2, "float32")]
    )
    model.get_layer("gate").set_weights(
        [np.array([[0.0], [1.0]], "float32"), np.array([-0.3], "float32")]
    )
    model.get_layer("classifier").set_weights(
        [np.array([[0.0, 10.0]], "float32"), np.array([0.0, -1.0], "float32")]
    )
    return model


@pytest.mark.jax
def test_finds_adversarial_examples_that_pgd_on_the_logits_misses():
    model = switch_model()
    x = np.array([[0.6, 0.5], [0.7, 0.62], [0.55, 0.5]], "float32").reshape(3, 1, 1, 2)
    y = np.zeros(3, "int32")
    assert (np.argmax(numpy_of(model(x)), -1) == y).all()
    kwargs = {"eps": 0.1, "step_size": 0.025, "steps": 8, "random_start": False}
    pgd = numpy_of(PGD(**kwargs)(model, x, y))
    np.testing.assert_array_equal(pgd, x)  # zero gradient: PGD never moves
    joint = numpy_of(JointLossPGD(beta=2.0, **kwargs)(model, x, y))
    assert np.abs(joint - x).max() <= 0.1 + 1e-6
    assert (np.argmax(numpy_of(model(joint)), -1) == 1).all()
    # The same through `evaluate`, by registry name.
    fixed_start = {"steps": 8, "step_fraction": 0.25, "random_start": False}
    summary = evaluation.evaluate(
        model,
        (x, y),
        attacks=["pgd", "joint-pgd"],
        eps=0.1,
        n=3,
        attack_kwargs={"pgd": fixed_start, "joint-pgd": fixed_start},
    )
    robust = {a.name: a.robust_accuracy for a in summary.attacks}
    assert robust == {"pgd": 1.0, "joint-pgd": 0.0}
    assert summary.robust_accuracy == 0.0


@pytest.mark.jax
def test_restarts_keep_the_first_success_and_stay_in_the_ball():
    model = switch_model()
    x = np.array([[0.6, 0.5], [0.9, 0.1]], "float32").reshape(2, 1, 1, 2)
    y = np.zeros(2, "int32")
    attack = JointLossPGD(eps=0.1, step_size=0.025, steps=8, restarts=3, seed=0)
    x_adv = numpy_of(attack(model, x, y))
    assert np.abs(x_adv - x).max() <= 0.1 + 1e-6
    # The first point flips; the second (z0 - z1 = 0.8) cannot within 0.1.
    np.testing.assert_array_equal(np.argmax(numpy_of(model(x_adv)), -1), [1, 0])


def test_registry_and_arguments():
    configs = {
        "pgd": {"attack": "joint-pgd", "steps": 20, "step_fraction": 0.1, "random_start": False}
    }
    attack = registry.make_attack("pgd", 8 / 255, configs=configs)
    assert isinstance(attack, JointLossPGD)
    assert attack.beta == 2.0 and attack.steps == 20 and attack.name == "pgd"
    assert attack.step_size == pytest.approx(0.1 * 8 / 255)
    rebuilt = registry.make_attack("pgd", 4 / 255, configs=configs)
    assert isinstance(rebuilt, JointLossPGD) and rebuilt.step_size == pytest.approx(0.4 / 255)
    same = attack.with_eps(4 / 255)  # an object keeps its settings, absolute step included
    assert (same.name, same.beta, same.step_size) == ("pgd", 2.0, attack.step_size)
    assert "joint-pgd" in evaluation.list_attacks()
    for kwargs, message in [({"beta": -1}, "beta=-1"), ({"loss": "dlr"}, "loss='dlr'")]:
        with pytest.raises(ValueError, match=f"Received: {message}"):
            JointLossPGD(0.1, **kwargs)


@pytest.mark.jax
def test_trains_as_the_attack_of_adversarial_training_as_the_reference():
    from tfrobust import objectives
    from tfrobust.training import adversarial

    model = cifs_model()
    x, y = batch(8)
    attack = JointLossPGD(eps=0.05, step_size=0.02, steps=2, random_start=False)
    robust = adversarial(model, objectives.PGDAT(), attack)
    robust.compile(optimizer=keras.optimizers.SGD(0.0))
    history = robust.fit(x, y, batch_size=8, epochs=1, verbose=0).history
    # The training step attacked with the joint loss: its adversarial accuracy is that of
    # the same (deterministic) attack run on its own.
    x_adv = numpy_of(attack(model, x, y))
    accuracy = float(np.mean(np.argmax(numpy_of(model(x_adv)), -1) == y))
    assert history["adv_accuracy"][0] == pytest.approx(accuracy)
    assert np.isfinite(history["loss"][0]) and history["layer_loss"][0] > 0
    with pytest.raises(TypeError, match="objective's own attack loss"):
        adversarial(model, objectives.TRADES(), attack)
