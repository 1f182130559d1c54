"""FAB-T: the L-inf hyperplane projection, valid outputs, minimal-distance behaviour."""

import keras
import numpy as np
import pytest
from scipy.optimize import linprog

from tfrobust.attacks.ensemble import predict_labels
from tfrobust.attacks.fab import FABT
from tfrobust.attacks.fab import project_linf_hyperplane


def minimal_linf_move(p, w, b):
    """min t s.t. w . (p + d) = b, |d_i| <= t, 0 <= p + d <= 1, by linear programming."""
    dim = len(p)
    cost = np.r_[np.zeros(dim), 1.0]
    a_ub = np.block([[np.eye(dim), -np.ones((dim, 1))], [-np.eye(dim), -np.ones((dim, 1))]])
    bounds = [(-pi, 1 - pi) for pi in p] + [(0, None)]
    res = linprog(cost, A_ub=a_ub, b_ub=np.zeros(2 * dim), A_eq=np.r_[w, 0.0][None],
                  b_eq=[b - w @ p], bounds=bounds)
    return res.x[-1] if res.status == 0 else None


def test_projection_matches_linear_programming():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, (20, 6)).astype("float32")
    w = rng.normal(size=(20, 6)).astype("float32")
    b = (np.sum(w * p, axis=1) + rng.normal(scale=0.5, size=20)).astype("float32")
    d = keras.ops.convert_to_numpy(project_linf_hyperplane(p, w, b[:, None]))
    assert (p + d >= -1e-6).all() and (p + d <= 1 + 1e-6).all()
    checked = 0
    for i in range(20):
        t = minimal_linf_move(p[i].astype("float64"), w[i].astype("float64"), float(b[i]))
        if t is None:  # unreachable inside the box: the largest move towards it
            continue
        checked += 1
        assert np.abs(d[i]).max() == pytest.approx(t, abs=1e-5)
        assert w[i] @ (p[i] + d[i]) == pytest.approx(b[i], abs=1e-4)
    assert checked >= 10


def model_and_batch(n=16, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(16, activation="relu"), keras.layers.Dense(10)])
    x = np.random.default_rng(seed).uniform(0, 1, (n, 6, 6, 1)).astype("float32")
    return model, x, predict_labels(model, x)


@pytest.mark.jax
def test_outputs_in_the_ball_and_fooling_at_large_eps():
    model, x, y = model_and_batch()
    x_adv = np.asarray(FABT(eps=0.3, steps=10, n_target_classes=3)(model, x, y))
    assert x_adv.min() >= 0 and x_adv.max() <= 1 and np.abs(x_adv - x).max() <= 0.3 + 1e-6
    fooled = predict_labels(model, x_adv) != y
    assert fooled.mean() > 0.8
    # Unfooled points are returned unchanged.
    np.testing.assert_array_equal(x_adv[~fooled], x[~fooled])


def test_tiny_eps_returns_clean_images():
    model, x, y = model_and_batch(n=8)
    x_adv = np.asarray(FABT(eps=1e-4, steps=5, n_target_classes=2)(model, x, y))
    np.testing.assert_array_equal(x_adv, x)


def test_finds_smaller_perturbations_than_the_budget():
    # FAB minimises the distance: the examples it finds at eps=0.3 are mostly much closer.
    model, x, y = model_and_batch()
    x_adv = np.asarray(FABT(eps=0.3, steps=20, n_target_classes=3)(model, x, y))
    fooled = predict_labels(model, x_adv) != y
    dist = np.abs(x_adv - x).reshape(len(x), -1).max(axis=1)[fooled]
    assert np.median(dist) < 0.2


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="linf"):
        FABT(eps=0.5, norm="l2")
    with pytest.raises(ValueError, match="steps"):
        FABT(eps=0.1, steps=0)
