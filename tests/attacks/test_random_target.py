"""RandomTargetPGD: targets are uniform wrong classes, reached, and scored on true labels."""

import keras
import numpy as np
import pytest
from keras import ops

import tfrobust
from tfrobust import backend
from tfrobust import evaluation
from tfrobust import objectives
from tfrobust.attacks import PGD
from tfrobust.attacks import RandomTargetPGD
from tfrobust.attacks.random_target import random_wrong_class
from tfrobust.evaluation import registry


def identity_model(k):
    """Logits = 10 * pixels of a (1, 1, k) image: within eps = 1, every class can win."""
    return keras.Sequential(
        [keras.Input((1, 1, k)), keras.layers.Flatten(), keras.layers.Rescaling(10.0)]
    )


def nearest_centre_model(centres=(0.1, 0.5, 0.9)):
    """A one-pixel classifier: class k wins where the pixel is closest to centres[k]."""
    c = np.asarray(centres, "float32")
    inputs = keras.Input((1, 1, 1))
    logits = keras.layers.Lambda(lambda t: -20.0 * ops.square(ops.reshape(t, (-1, 1)) - c))(inputs)
    return keras.Model(inputs, logits)


def tiny_mlp(k=5, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(k),
        ]
    )


def predictions(model, x):
    return np.argmax(ops.convert_to_numpy(model(x, training=False)), -1)


@pytest.mark.jax
@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(prob_start_from_clean=1.5), "prob_start_from_clean=1.5"),
        (dict(num_classes=1), "num_classes=1"),
        (dict(steps=0), "steps=0"),
        (dict(eps=16), "eps=16"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RandomTargetPGD(**kwargs)


@pytest.mark.jax
def test_targets_are_never_the_true_class_and_uniform_over_the_others():
    k, n = 5, 5000
    y = np.arange(n, dtype="int32") % k
    generator = keras.random.SeedGenerator(0)
    draws = [ops.convert_to_numpy(random_wrong_class(y, k, generator)) for _ in range(2)]
    assert not np.array_equal(draws[0], draws[1])  # a fresh draw each time
    t = np.concatenate(draws)
    labels = np.concatenate([y, y])
    assert not np.any(t == labels)
    counts = np.zeros((k, k), int)
    np.add.at(counts, (labels, t), 1)
    expected = 2 * n / k / (k - 1)  # 500 per (true, target) pair
    off_diagonal = counts[~np.eye(k, dtype=bool)]
    assert off_diagonal.min() > 0.8 * expected and off_diagonal.max() < 1.2 * expected


@pytest.mark.jax
def test_the_attack_lands_on_a_uniformly_random_wrong_class():
    """On a model where eps = 1 reaches any class, the final prediction is the target."""
    k, n = 4, 800
    rng = np.random.default_rng(0)
    x = rng.random((n, 1, 1, k), dtype=np.float32)
    y = np.argmax(x.reshape(n, k), -1)
    model = identity_model(k)
    attack = RandomTargetPGD(eps=1.0, step_size=1.0, steps=1, seed=0)
    pred = predictions(model, np.asarray(attack(model, x, y)))
    assert not np.any(pred == y)
    for c in range(k):
        others, counts = np.unique(pred[y == c], return_counts=True)
        assert set(others) == set(range(k)) - {c}
        assert counts.min() > 0.6 * counts.mean()


@pytest.mark.jax
def test_targeted_steps_reach_the_target_more_often_than_untargeted_pgd():
    model = tiny_mlp()
    x = np.random.default_rng(1).random((200, 6, 6, 1), dtype=np.float32)
    y = predictions(model, x)

    attack = RandomTargetPGD(eps=0.5, step_size=0.1, steps=10, seed=0)
    target = ops.convert_to_numpy(
        attack.draw_targets(
            lambda z: model(z, training=False), ops.convert_to_tensor(x), ops.convert_to_tensor(y)
        )
    )
    assert not np.any(target == y)
    towards = backend.compile_model_fn(model, attack.towards, state=[attack.seed_generator.state])
    x_targeted = towards(ops.convert_to_tensor(x), ops.convert_to_tensor(target.astype("int32")))
    x_untargeted = PGD(eps=0.5, step_size=0.1, steps=10, seed=0)(model, x, y)
    hit_targeted = np.mean(predictions(model, x_targeted) == target)
    hit_untargeted = np.mean(predictions(model, np.asarray(x_untargeted)) == target)
    assert hit_targeted > 0.8 and hit_targeted > hit_untargeted + 0.3
    assert np.max(np.abs(ops.convert_to_numpy(x_targeted) - x)) <= 0.5 + 1e-6


@pytest.mark.jax
def test_start_is_random_or_clean_for_the_whole_batch():
    x = ops.convert_to_tensor(np.full((8, 2, 2, 1), 0.5, "float32"))
    assert np.array_equal(
        ops.convert_to_numpy(RandomTargetPGD(0.1, prob_start_from_clean=1.0).start(x)),
        ops.convert_to_numpy(x),
    )
    attack = RandomTargetPGD(0.1, prob_start_from_clean=0.5, seed=0)
    clean = []
    for _ in range(40):
        moved = np.abs(ops.convert_to_numpy(attack.start(x)) - 0.5) > 0
        assert moved.all() or not moved.any()
        clean.append(not moved.any())
    assert 8 <= sum(clean) <= 32
    always = RandomTargetPGD(0.1, seed=0).start(x)
    assert np.all(np.abs(ops.convert_to_numpy(always) - 0.5) > 0)


@pytest.mark.jax
def test_one_fit_step_of_pgd_at_against_random_targets():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, padding="same"),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ]
    )
    attack = RandomTargetPGD(eps=0.1, step_size=0.05, steps=2, prob_start_from_clean=0.2, seed=0)
    robust = tfrobust.adversarial(model, objectives.PGDAT(), attack)
    robust.compile(optimizer=keras.optimizers.SGD(0.1))
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, 16)
    before = [ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    seed_before = ops.convert_to_numpy(attack.seed_generator.state).copy()
    history = robust.fit(x, y, batch_size=16, epochs=1, verbose=0).history
    assert {"loss", "clean_accuracy", "adv_accuracy"} <= set(history)
    assert np.isfinite(history["loss"][0])
    for weight, old in zip(model.trainable_weights, before):
        assert not np.allclose(ops.convert_to_numpy(weight), old), weight.path
    assert not np.array_equal(ops.convert_to_numpy(attack.seed_generator.state), seed_before)


@pytest.mark.jax
def test_trades_refuses_it():
    with pytest.raises(TypeError, match="draws its own target"):
        tfrobust.adversarial(tiny_mlp(), objectives.TRADES(), RandomTargetPGD(0.1, seed=0))


@pytest.mark.jax
def test_evaluation_scores_true_labels_not_whether_the_target_was_reached():
    """Points at 0.28 (class 0) move to 0.38 (class 1) whatever the target, so none
    is robust, though half of them miss their target (class 2, out of reach);
    points at 0.9 (class 2) cannot leave it. Steps of eps/2: from a random start
    below 0.2 a walk of only eps would stay in class 0."""
    model = nearest_centre_model()
    x = np.concatenate([np.full(20, 0.28), np.full(20, 0.9)]).astype("float32").reshape(-1, 1, 1, 1)
    y = np.array([0] * 20 + [2] * 20)
    config = {"pgd-random-target": {"steps": 5, "step_fraction": 0.5}}
    summary = evaluation.evaluate(
        model,
        (x, y),
        attacks=["pgd-random-target"],
        eps=0.1,
        n=None,
        batch_size=40,
        attack_kwargs=config,
    )
    assert summary.clean_accuracy == 1.0
    assert summary.robust_accuracy == pytest.approx(0.5)
    attack = registry.make_attack("pgd-random-target", 0.1, configs=config, seed=0)
    pred = predictions(model, np.asarray(attack(model, x[:20], y[:20])))
    assert np.all(pred == 1)  # fooled, though about half were aimed at class 2


@pytest.mark.jax
@pytest.mark.parametrize("steps", [1, 5, 10, 16, 100])
def test_registry_defaults_follow_the_reference_step_and_reach_the_budget(steps):
    eps = 16 / 255
    attack = registry.make_attack("pgd-random-target", eps, steps=steps, seed=0)
    assert isinstance(attack, RandomTargetPGD)
    assert attack.step_size == pytest.approx(eps * max(1 / 16, 1 / steps))
    assert attack.steps * attack.step_size >= eps - 1e-9
    assert attack.prob_start_from_clean == 0.0  # the reference evaluates from a random start
    assert (
        registry.make_attack("pgd-random-target", eps, random_start=False).prob_start_from_clean
        == 1.0
    )
    rebuilt = attack.with_eps(eps / 2, seed=1)
    assert isinstance(rebuilt, RandomTargetPGD) and rebuilt.eps == pytest.approx(eps / 2)
