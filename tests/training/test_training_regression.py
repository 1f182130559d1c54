"""Training regression at tiny scale: every adversarial objective beats Standard training.

A few hundred steps on the bundled MNIST sample (2,000 training images), then
PGD on 500 held-out test images at the training budget. A defect that trains
against the wrong inner maximisation, or drops the adversarial term, shows
up here as a model no more robust than Standard training.

Every row starts from the same network after one clean epoch. From a random
initialisation, adversarial training at this budget often stays on the
chance-level plateau for all five epochs, on either backend (PGD-AT, fast AT
and MART from seeds 0-2: 11 of 18 runs stuck), so the verdict would be the
seed's, not the objective's; after the clean epoch every row and seed leaves it.
"""

import keras
import numpy as np
import pytest
from keras import ops

from tfrobust import attacks
from tfrobust import data
from tfrobust import objectives
from tfrobust.attacks.protocol import predict_labels
from tfrobust.training import adversarial

pytestmark = pytest.mark.jax

EPS, EPOCHS, BATCH = 0.1, 4, 50


def cnn():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 5, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(16, 5, strides=2, padding="same", activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10),
        ]
    )


@pytest.fixture(scope="module")
def sample():
    train = data.load_numpy("mnist", "train", data.SAMPLE_DIR)
    test = data.load_numpy("mnist", "test", data.SAMPLE_DIR)
    return train, test


@pytest.fixture(scope="module")
def warm_weights(sample):
    """The weights after one clean epoch: the common start of every row."""
    (x, y), _ = sample
    model = cnn()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    return model.get_weights()


def train(objective, attack, sample, warm_weights):
    (x, y), _ = sample
    model = cnn()
    model.set_weights(warm_weights)
    robust = adversarial(model, objective, attack)
    robust.compile(optimizer=keras.optimizers.Adam(1e-3))
    robust.fit(x, y, batch_size=BATCH, epochs=EPOCHS, verbose=0)
    return model, robust


def pgd_accuracy(model, sample):
    _, (x, y) = sample
    x_adv = attacks.PGD(eps=EPS, step_size=EPS / 4, steps=10, seed=0)(model, x, y)
    return float(np.mean(predict_labels(model, np.asarray(x_adv)) == y))


@pytest.fixture(scope="module")
def standard_pgd_accuracy(sample, warm_weights):
    model, _ = train(objectives.Standard(), None, sample, warm_weights)
    return pgd_accuracy(model, sample)


def pgd(start=True):
    return attacks.PGD(eps=EPS, step_size=EPS / 2, steps=3, random_start=start, seed=1)


CASES = {
    "pgd_at": (objectives.PGDAT, lambda: pgd()),
    "fast_at": (
        objectives.PGDAT,
        lambda: attacks.FGSM(EPS, random_start=True, step_size=1.25 * EPS, seed=1),
    ),
    "trades": (objectives.TRADES, lambda: pgd("normal")),
    "mart": (objectives.MART, lambda: pgd("normal")),
    "alp": (objectives.ALP, lambda: pgd()),
    "aalp": (objectives.AALP, lambda: pgd()),
}


@pytest.mark.parametrize("name", list(CASES))
def test_adversarial_training_is_more_robust_than_standard(
    name, sample, warm_weights, standard_pgd_accuracy
):
    objective_class, make_attack = CASES[name]
    model, robust = train(objective_class(), make_attack(), sample, warm_weights)
    robust_accuracy = pgd_accuracy(model, sample)
    print(f"{name}: PGD-10 accuracy {robust_accuracy:.3f}, Standard {standard_pgd_accuracy:.3f}")
    assert robust_accuracy > standard_pgd_accuracy + 0.25, (robust_accuracy, standard_pgd_accuracy)
    if name == "trades":
        # The KL term under TRADES's own training attack exceeds its value at the start.
        (x, y), _ = sample
        x, y = ops.convert_to_tensor(x[:500]), ops.convert_to_tensor(y[:500].astype("int32"))
        x_adv, clean_logits = robust.generate(x, y)
        start = ops.clip(x + 0.001 * keras.random.normal(ops.shape(x), seed=2), 0.0, 1.0)
        p_clean = ops.softmax(clean_logits, axis=-1)
        kl_adv = objectives.trades.inner_loss(model(x_adv), p_clean)
        kl_start = objectives.trades.inner_loss(model(start), p_clean)
        assert float(ops.mean(kl_adv)) > 5 * float(ops.mean(kl_start))
