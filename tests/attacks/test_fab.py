"""FAB-T: the hyperplane projections, valid outputs, minimal-distance behaviour."""

import keras
import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.optimize import linprog
from scipy.optimize import minimize

from tfrobust.attacks.fab import FABT
from tfrobust.attacks.fab import project_l2_hyperplane
from tfrobust.attacks.fab import project_linf_hyperplane
from tfrobust.attacks.protocol import predict_labels


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


def projection_problems(n=20, dim=6, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 1, (n, dim)).astype("float32")
    w = rng.normal(size=(n, dim)).astype("float32")
    w[0, :2] = 0.0  # coordinates the hyperplane does not depend on
    b = (np.sum(w * p, axis=1) + rng.normal(scale=0.5, size=n)).astype("float32")
    return p, w, b


def minimal_l2_move(p, w, b):
    """min |d|_2 s.t. w . (p + d) = b, 0 <= p + d <= 1, or None where the box cannot reach it.

    Two independent routes: the KKT form `d = clip(lam * w)` solved for `lam`
    by root finding, and a generic constrained minimiser from the origin.
    """
    lower, upper = -p, 1 - p
    gain = lambda lam: w @ np.clip(lam * w, lower, upper) - (b - w @ p)  # noqa: E731
    big = 1e6
    if gain(-big) * gain(big) > 0:
        return None
    d_kkt = np.clip(brentq(gain, -big, big, xtol=1e-14) * w, lower, upper)
    res = minimize(lambda d: d @ d, np.zeros_like(p), jac=lambda d: 2 * d, method="SLSQP",
                   bounds=list(zip(lower, upper)),
                   constraints=[{"type": "eq", "fun": lambda d: w @ (p + d) - b}],
                   options={"ftol": 1e-12, "maxiter": 1000})
    assert d_kkt @ d_kkt <= res.fun + 1e-9  # no feasible point found is closer
    np.testing.assert_allclose(d_kkt, res.x, atol=1e-4)
    return d_kkt


def test_l2_projection_matches_constrained_minimisation():
    p, w, b = projection_problems()
    d = keras.ops.convert_to_numpy(project_l2_hyperplane(p, w, b[:, None]))
    assert (p + d >= -1e-6).all() and (p + d <= 1 + 1e-6).all()
    assert (d[0, :2] == 0).all()
    checked = 0
    for i in range(len(p)):
        expected = minimal_l2_move(p[i].astype("float64"), w[i].astype("float64"), float(b[i]))
        if expected is None:  # unreachable: the largest move towards the hyperplane
            toward = np.sign(w[i]) * np.sign(b[i] - w[i] @ p[i])
            np.testing.assert_allclose(d[i], np.where(toward > 0, 1 - p[i], -p[i]) * (toward != 0),
                                       atol=1e-6)
            continue
        checked += 1
        np.testing.assert_allclose(d[i], expected, atol=2e-5)
    assert checked >= 10


def test_l2_projection_of_a_point_on_the_hyperplane_is_zero():
    p, w, _ = projection_problems(n=4)
    d = keras.ops.convert_to_numpy(project_l2_hyperplane(p, w, np.sum(w * p, 1, keepdims=True)))
    np.testing.assert_allclose(d, 0.0, atol=1e-6)


def model_and_batch(n=16, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(16, activation="relu"), keras.layers.Dense(10)])
    x = np.random.default_rng(seed).uniform(0, 1, (n, 6, 6, 1)).astype("float32")
    return model, x, predict_labels(model, x)


def distances(x, x_adv, norm):
    delta = (x_adv - x).reshape(len(x), -1)
    return np.abs(delta).max(axis=1) if norm == "linf" else np.linalg.norm(delta, axis=1)


@pytest.mark.jax
@pytest.mark.parametrize("norm, eps", [("linf", 0.3), ("l2", 1.5)])
def test_outputs_in_the_ball_and_fooling_at_large_eps(norm, eps):
    model, x, y = model_and_batch()
    x_adv = np.asarray(FABT(eps=eps, norm=norm, steps=10, n_target_classes=3)(model, x, y))
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert distances(x, x_adv, norm).max() <= eps * (1 + 1e-5) + 1e-6
    fooled = predict_labels(model, x_adv) != y
    assert fooled.mean() > 0.8
    # Unfooled points are returned unchanged.
    np.testing.assert_array_equal(x_adv[~fooled], x[~fooled])


def test_tiny_eps_returns_clean_images():
    model, x, y = model_and_batch(n=8)
    x_adv = np.asarray(FABT(eps=1e-4, steps=5, n_target_classes=2)(model, x, y))
    np.testing.assert_array_equal(x_adv, x)


@pytest.mark.parametrize("norm, eps", [("linf", 0.3), ("l2", 1.5)])
def test_finds_smaller_perturbations_than_the_budget(norm, eps):
    # FAB minimises the distance: the examples it finds are mostly much closer than eps.
    model, x, y = model_and_batch()
    x_adv = np.asarray(FABT(eps=eps, norm=norm, steps=20, n_target_classes=3)(model, x, y))
    fooled = predict_labels(model, x_adv) != y
    assert fooled.mean() > 0.8
    assert np.median(distances(x, x_adv, norm)[fooled]) < 0.67 * eps


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="norm"):
        FABT(eps=0.5, norm="l1")
    with pytest.raises(ValueError, match="steps"):
        FABT(eps=0.1, steps=0)
