"""Ensemble: a point is robust only if it survives every attack."""

import keras
import numpy as np
import pytest

from tfrobust.attacks.base import Attack
from tfrobust.attacks.ensemble import Ensemble
from tfrobust.attacks.fgsm import FGSM
from tfrobust.attacks.protocol import PerturbationBudgetError
from tfrobust.attacks.protocol import assert_in_budget
from tfrobust.attacks.protocol import predict_labels
from tfrobust.attacks.square import Square


class Table(Attack):
    """Adds `eps` to every pixel of the images whose first pixel is below 0.5."""

    def __init__(self, eps, name):
        super().__init__(eps, name=name)

    def __call__(self, model, x, y):
        return np.clip(np.asarray(x) + self.eps * (np.asarray(x)[:, :1, :1, :1] < 0.5), 0, 1)


def threshold_model():
    """Class 1 if the mean pixel exceeds 0.5, else class 0 (a fixed linear model)."""
    model = keras.Sequential(
        [keras.Input((2, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    model.layers[-1].set_weights(
        [np.array([[-1.0, 1.0]] * 4, "float32"), np.array([2.0, -2.0], "float32")]
    )
    return model


def test_worst_case_over_attacks():
    model = threshold_model()
    x = np.full((4, 2, 2, 1), 0.45, "float32")
    x[:, 0, 0, 0] = [0.3, 0.3, 0.6, 0.6]
    y = predict_labels(model, x)
    assert (y == 0).all()
    ens = Ensemble([Table(0.1, "a"), Table(0.1, "b")])
    x_adv, report = ens.run(model, x, y)
    fooled = predict_labels(model, x_adv) != y
    assert report.robust_accuracy == pytest.approx(1 - fooled.mean())
    assert [s.name for s in report.stages] == ["a", "b"]
    assert report.stages[1].n_attacked == report.stages[0].n_attacked - report.stages[0].n_fooled


@pytest.mark.jax
def test_ensemble_of_real_attacks_is_no_better_than_each():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    x = np.random.default_rng(0).uniform(0, 1, (16, 6, 6, 1)).astype("float32")
    y = predict_labels(model, x)
    fgsm, square = FGSM(0.05, seed=0), Square(0.05, n_queries=30, seed=0)
    x_adv, report = Ensemble([fgsm, square]).run(model, x, y)
    assert_in_budget(x, x_adv, 0.05, "linf")
    each = [
        (predict_labels(model, np.asarray(a(model, x, y))) == y).mean()
        for a in (FGSM(0.05, seed=0),)
    ]
    assert report.robust_accuracy <= min(each) + 1e-9


def test_budget_helper_and_threat_model_checks():
    x = np.zeros((2, 2, 2, 1), "float32")
    assert_in_budget(x, x + 0.1, 0.1, "linf")
    with pytest.raises(PerturbationBudgetError):
        assert_in_budget(x, x + 0.11, 0.1, "linf")
    with pytest.raises(PerturbationBudgetError):
        assert_in_budget(x, x + 0.1, 0.1, "l2")  # L2 norm 0.2
    with pytest.raises(ValueError, match="threat model"):
        Ensemble([FGSM(0.1), FGSM(0.2)])
    with pytest.raises(ValueError, match="at least one"):
        Ensemble([])
