"""Contracts through the real call path: what `adversarial(...)` attacks and trains on.

The TRADES defect (the training attack ascending a function that is not the
KL) passed a test that called the loss in its own argument order. These
tests go through `AdversarialModel.generate` and `fit`, the calls training
makes, and compare with formulas written here in NumPy from the reference
implementations (yaodongyu/TRADES `trades.py`, YisenWang/MART `mart.py`,
Kannan et al. for ALP, the AALP paper), not with the library's own helpers.
"""

import keras
import numpy as np
import pytest
from keras import ops

from tfrobust import attacks
from tfrobust import backend
from tfrobust import objectives
from tfrobust.training import adversarial

pytestmark = pytest.mark.jax

EPS, STEP, STEPS = 0.1, 0.025, 10


def tiny_cnn(seed=0):
    """No BatchNorm or dropout: training and inference mode compute the same logits."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ]
    )


def batch(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, n)


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(z, y):
    return -np.log(softmax(z)[np.arange(len(y)), y])


def kl(p, z_q):
    """KL(p || softmax(z_q)) per example, as `nn.KLDivLoss(log_softmax(z_q), p)` summed."""
    return np.sum(p * (np.log(np.clip(p, 1e-12, 1)) - np.log(softmax(z_q))), axis=1)


def numpy_of(t):
    return np.asarray(ops.convert_to_numpy(t))


def logits(model, x):
    return numpy_of(model(ops.convert_to_tensor(x), training=False))


# The inner maximisation of each reference: TRADES ascends the KL to the clean
# prediction; PGD-AT, MART, ALP and AALP ascend the cross-entropy.
def inner_loss(objective, z_clean, z_adv, y):
    if isinstance(objective, objectives.TRADES):
        return kl(softmax(z_clean), z_adv)
    return cross_entropy(z_adv, y)


def independent_pgd(model, objective, x, y, seed):
    """L-inf PGD written out here, on the correctly ordered inner loss."""
    z_clean = ops.convert_to_tensor(logits(model, x))
    p_clean = ops.softmax(z_clean, axis=-1)
    y_t = ops.convert_to_tensor(y.astype("int32"))

    def loss(z):
        out = model(z, training=False)
        if isinstance(objective, objectives.TRADES):
            log_q = ops.log_softmax(out, axis=-1)
            return ops.sum(p_clean * (ops.log(ops.clip(p_clean, 1e-12, 1.0)) - log_q))
        return ops.sum(keras.losses.sparse_categorical_crossentropy(y_t, out, from_logits=True))

    rng = np.random.default_rng(seed)
    x_adv = np.clip(x + 0.001 * rng.standard_normal(x.shape).astype("float32"), 0, 1)
    for _ in range(STEPS):
        _, grad = backend.value_and_grad(loss, ops.convert_to_tensor(x_adv))
        x_adv = x_adv + STEP * np.sign(numpy_of(grad))
        x_adv = np.clip(np.clip(x_adv, x - EPS, x + EPS), 0, 1).astype("float32")
    return x_adv


ADVERSARIAL = [
    objectives.PGDAT,
    objectives.TRADES,
    objectives.MART,
    objectives.ALP,
    objectives.AALP,
]


@pytest.mark.parametrize("objective_class", ADVERSARIAL, ids=lambda c: c.__name__)
def test_training_attack_ascends_the_objectives_own_inner_loss(objective_class):
    objective, model = objective_class(), tiny_cnn()
    # TRADES's and MART's reference start: x + 0.001 N(0, I); the KL's gradient is 0 at x.
    robust = adversarial(
        model,
        objective,
        attacks.PGD(eps=EPS, step_size=STEP, steps=STEPS, random_start="normal", seed=1),
    )
    x, y = batch()
    x_adv, clean_logits = robust.generate(
        ops.convert_to_tensor(x), ops.convert_to_tensor(y.astype("int32"))
    )
    z_clean = logits(model, x)
    np.testing.assert_allclose(numpy_of(clean_logits), z_clean, rtol=1e-5, atol=1e-5)
    reached = inner_loss(objective, z_clean, logits(model, numpy_of(x_adv)), y).mean()
    reference = inner_loss(
        objective, z_clean, logits(model, independent_pgd(model, objective, x, y, 2)), y
    ).mean()
    start = inner_loss(
        objective,
        z_clean,
        logits(
            model,
            np.clip(x + 0.001 * np.random.default_rng(3).standard_normal(x.shape), 0, 1).astype(
                "float32"
            ),
        ),
        y,
    ).mean()
    assert (
        reached > 10 * max(start, 1e-6)
        if isinstance(objective, objectives.TRADES)
        else reached > start
    )
    assert reached >= 0.95 * reference


def hand_loss(objective, z_clean, z_adv, y):
    """Each objective's training loss, written from its reference (batch means)."""
    p_clean = softmax(z_clean)
    if isinstance(objective, objectives.Standard):
        return cross_entropy(z_clean, y).mean()
    if isinstance(objective, objectives.PGDAT):
        return cross_entropy(z_adv, y).mean()
    if isinstance(objective, objectives.TRADES):
        return cross_entropy(z_clean, y).mean() + objective.beta * kl(p_clean, z_adv).mean()
    if isinstance(objective, objectives.MART):
        p_adv = softmax(z_adv)
        ranked = np.argsort(p_adv, axis=1)
        new_y = np.where(ranked[:, -1] == y, ranked[:, -2], ranked[:, -1])
        bce = cross_entropy(z_adv, y) - np.log(1.0001 - p_adv[np.arange(len(y)), new_y] + 1e-12)
        weight = 1.0000001 - p_clean[np.arange(len(y)), y]
        return bce.mean() + objective.beta * (kl(p_clean, z_adv) * weight).mean()
    pairing = np.sum((z_clean - z_adv) ** 2, axis=1)
    if isinstance(objective, objectives.AALP):
        pairing = pairing * p_clean[np.arange(len(y)), y]
    return (
        0.5 * cross_entropy(z_clean, y).mean()
        + 0.5 * cross_entropy(z_adv, y).mean()
        + objective.weight * pairing.mean()
    )


@pytest.mark.parametrize(
    "objective_class", [objectives.Standard, *ADVERSARIAL], ids=lambda c: c.__name__
)
def test_one_training_steps_loss_equals_a_hand_computation(objective_class):
    objective, model = objective_class(), tiny_cnn()
    attack = (
        attacks.PGD(eps=EPS, step_size=STEP, steps=3, seed=1)
        if objective.needs_adversarial
        else None
    )
    robust = adversarial(model, objective, attack)
    robust.compile(optimizer=keras.optimizers.SGD(0.0))  # the weights stay as they are
    x, y = batch()
    seed_state = None if attack is None else numpy_of(robust.attack.seed_generator.state).copy()
    history = robust.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False).history
    x_adv = x
    if attack is not None:  # replay the step's random start to get its adversarial examples
        robust.attack.seed_generator.state.assign(seed_state)
        x_adv = numpy_of(
            robust.generate(ops.convert_to_tensor(x), ops.convert_to_tensor(y.astype("int32")))[0]
        )
    expected = hand_loss(objective, logits(model, x), logits(model, x_adv), y)
    assert history["loss"][0] == pytest.approx(expected, rel=1e-4)
