"""`AdversarialModel`: every objective trains through `fit`, on TF and JAX."""

import keras
import numpy as np
import pytest
from keras import ops

from tfrobust import attacks
from tfrobust import objectives
from tfrobust.training import adversarial

ALL_OBJECTIVES = [
    objectives.Standard,
    objectives.PGDAT,
    objectives.TRADES,
    objectives.MART,
    objectives.ALP,
    objectives.AALP,
]


def small_cnn(seed=0):
    """A CNN with BatchNorm, so both weights and statistics can be checked."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, padding="same"),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ]
    )


def batch(n=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, n)


def _attack(objective):
    return (
        None if not objective.needs_adversarial else attacks.PGD(eps=0.1, step_size=0.05, steps=2)
    )


@pytest.mark.jax
@pytest.mark.parametrize("objective_class", ALL_OBJECTIVES)
def test_one_fit_step_updates_every_weight_and_logs_every_term(objective_class):
    objective = objective_class()
    model = small_cnn()
    robust = adversarial(model, objective, _attack(objective))
    robust.compile(optimizer=keras.optimizers.SGD(0.1))
    before = [ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    x, y = batch()
    history = robust.fit(x, y, batch_size=16, epochs=1, verbose=0).history
    for weight, old in zip(model.trainable_weights, before):
        assert not np.allclose(ops.convert_to_numpy(weight), old), weight.path
    logged = set(history)
    assert {"loss", "clean_accuracy", *objective.terms} <= logged
    assert ("adv_accuracy" in logged) == objective.needs_adversarial
    total = sum(history[t][0] for t in objective.terms)
    assert history["loss"][0] == pytest.approx(total, rel=1e-4)


@pytest.mark.jax
def test_attack_runs_in_inference_mode_and_leaves_batchnorm_statistics():
    model = small_cnn()
    robust = adversarial(model, objectives.PGDAT(), attacks.PGD(eps=0.1, step_size=0.05, steps=3))
    statistics = [ops.convert_to_numpy(v).copy() for v in model.non_trainable_weights]
    x, y = batch()
    x_adv, _ = robust.generate(ops.convert_to_tensor(x), ops.convert_to_tensor(y))
    for variable, old in zip(model.non_trainable_weights, statistics):
        np.testing.assert_array_equal(ops.convert_to_numpy(variable), old)
    delta = ops.convert_to_numpy(x_adv) - x
    assert 0 < np.abs(delta).max() <= 0.1 + 1e-6


class LabelPenalty(keras.layers.Layer):
    """Adds the mean label + 5 in training mode, like a defense layer's auxiliary loss."""

    adds_loss = True

    def call(self, x, training=False):
        if training:
            from tfrobust.labels import current_labels

            self.add_loss(ops.mean(ops.cast(current_labels(), "float32")) + 5.0)
        return x


@pytest.mark.jax
@pytest.mark.parametrize(
    "objective, terms",
    [
        (objectives.TRADES(), ("ce", "trades_kl")),
        (objectives.MART(), ("bce_adv", "mart_kl")),
        (objectives.Standard(), ("ce",)),
    ],
    ids=["trades", "mart", "standard"],
)
def test_layer_losses_count_once_on_the_adversarial_pass(objective, terms):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), LabelPenalty(), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    attack = (
        None if not objective.needs_adversarial else attacks.PGD(eps=0.1, step_size=0.05, steps=1)
    )
    robust = adversarial(model, objective, attack)
    robust.compile(optimizer=keras.optimizers.SGD(0.0))
    x, y = batch()
    history = robust.fit(x, y, batch_size=16, verbose=0).history
    # One penalty per step, from the adversarial pass (the clean one without an attack),
    # as FSR's, CIFS's and CAS's reference code train: the clean pass of TRADES adds none.
    penalty = np.mean(y) + 5.0
    assert history["layer_loss"][0] == pytest.approx(penalty, rel=1e-5)
    total = sum(history[term][0] for term in terms)
    assert history["loss"][0] == pytest.approx(total + penalty, rel=1e-4)


def test_objective_that_needs_an_attack_refuses_none():
    with pytest.raises(ValueError, match="pass an attack"):
        adversarial(small_cnn(), objectives.PGDAT())


def test_trades_trains_with_a_copy_of_the_attack():
    attack = attacks.PGD(eps=0.1, steps=2)
    robust = adversarial(small_cnn(), objectives.TRADES(), attack)
    assert robust.training_attack is not attack
    assert attack.loss_fn is not robust.training_attack.loss_fn


def test_tensorboard_receives_attack_accuracy_and_terms(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    robust = adversarial(small_cnn(), objectives.TRADES(), attacks.PGD(eps=0.1, steps=1))
    robust.compile(optimizer="sgd")
    x, y = batch()
    robust.fit(
        x, y, batch_size=8, epochs=2, verbose=0, callbacks=[keras.callbacks.TensorBoard(tmp_path)]
    )
    events = EventAccumulator(str(tmp_path / "train")).Reload()
    tags = set(events.Tags()["tensors"]) | set(events.Tags()["scalars"])
    assert {"epoch_adv_accuracy", "epoch_clean_accuracy", "epoch_trades_kl"} <= tags


def test_pgd_at_beats_standard_training_on_mnist(shared_datasets):
    from tfrobust import architectures
    from tfrobust import data

    x, y = data.load_numpy("mnist", "train", shared_datasets, n=6000)
    x_test, y_test = data.load_numpy("mnist", "test", shared_datasets, n=500)
    eps, robust_accuracy = 0.1, {}
    for objective, attack in [
        (objectives.Standard(), None),
        (objectives.PGDAT(), attacks.PGD(eps, eps / 4, steps=7, seed=0)),
    ]:
        keras.utils.set_random_seed(0)
        model = architectures.get("lenet", num_classes=10, input_shape=(28, 28, 1))
        robust = adversarial(model, objective, attack)
        robust.compile(optimizer=keras.optimizers.Adam(1e-3))
        robust.fit(x, y, batch_size=64, epochs=2, verbose=0)
        evaluation = attacks.PGD(eps, eps / 8, steps=20, seed=1)
        x_adv = np.concatenate(
            [
                evaluation(model, x_test[i : i + 250], y_test[i : i + 250])
                for i in range(0, 500, 250)
            ]
        )
        predictions = np.argmax(model.predict(x_adv, verbose=0), axis=1)
        robust_accuracy[type(objective).__name__] = np.mean(predictions == y_test)
    assert robust_accuracy["PGDAT"] > robust_accuracy["Standard"] + 0.1, robust_accuracy
