"""APGD and APGD-T: argument checks, batch sizes, and strength on a small robust MNIST CNN."""

import keras
import numpy as np
import pytest

from tfrobust.attacks import APGD
from tfrobust.attacks import APGDT
from tfrobust.attacks import PGD

pytestmark = pytest.mark.jax


def accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(np.asarray(x), verbose=0), -1) == y))


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (APGD, dict(steps=0), "Received: steps=0"),
        (APGD, dict(loss="l1"), "Received: loss='l1'"),
        (APGD, dict(norm="l0"), "Received: norm='l0'"),
        (APGDT, dict(n_target_classes=0), "Received: n_target_classes=0"),
    ],
)
def test_rejects_bad_arguments(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


def test_apgdt_needs_enough_classes():
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(5)]
    )
    x = np.zeros((2, 4, 4, 1), "float32")
    with pytest.raises(ValueError, match="Received: n_target_classes=9"):
        APGDT(0.1)(model, x, np.zeros(2, "int32"))


def test_one_compiled_attack_serves_several_batch_sizes():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(4)]
    )
    attack = APGD(eps=0.1, steps=3, restarts=2, loss="dlr", seed=0)
    for n in (2, 3):
        x = np.random.default_rng(n).uniform(size=(n, 4, 4, 1)).astype("float32")
        assert np.asarray(attack(model, x, np.zeros(n, "int32"))).shape == x.shape


def test_apgd_beats_pgd_with_the_same_budget(mnist_model, mnist_test):
    x, y = mnist_test
    pgd = PGD(0.3, step_size=0.01, steps=50, seed=0, unroll=False)
    pgd = accuracy(mnist_model, pgd(mnist_model, x, y), y)
    apgd = accuracy(mnist_model, APGD(0.3, steps=50, seed=0)(mnist_model, x, y), y)
    print(f"eps 0.3, 50 steps: PGD {pgd:.3f}, APGD-CE {apgd:.3f}")
    assert apgd <= pgd + 0.01


def test_apgdt_and_dlr_break_the_model(mnist_model, mnist_test):
    x, y = mnist_test
    x, y = x[:100], y[:100]
    dlr = accuracy(mnist_model, APGD(0.3, steps=30, loss="dlr", seed=0)(mnist_model, x, y), y)
    t = accuracy(
        mnist_model, APGDT(0.3, steps=30, n_target_classes=3, seed=0)(mnist_model, x, y), y
    )
    print(f"eps 0.3, 30 steps, 100 points: APGD-DLR {dlr:.3f}, APGD-T (3 targets) {t:.3f}")
    assert dlr < 0.3 and t < 0.3


def test_targeted_apgd_reaches_targets(mnist_model, mnist_test):
    x, y = mnist_test
    target = (y + 3) % 10
    x_adv = APGD(0.5, steps=20, loss="ce", targeted=True, seed=0)(mnist_model, x, target)
    hit = np.argmax(mnist_model.predict(np.asarray(x_adv), verbose=0), -1) == target
    assert hit.mean() > 0.9
