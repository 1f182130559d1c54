"""FAB and FAB-T: the hyperplane projections, valid outputs, minimal-distance behaviour."""

import keras
import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.optimize import linprog
from scipy.optimize import minimize

from tests.test_case import mlp_and_batch
from tfrobust.attacks.fab import FAB
from tfrobust.attacks.fab import FABT
from tfrobust.attacks.fab import project_l1_hyperplane
from tfrobust.attacks.fab import project_l2_hyperplane
from tfrobust.attacks.fab import project_linf_hyperplane
from tfrobust.attacks.protocol import predict_labels

SHAPE = (6, 6, 1)  # the tests' input shape


def minimal_linf_move(p, w, b):
    """min t s.t. w . (p + d) = b, |d_i| <= t, 0 <= p + d <= 1, by linear programming."""
    dim = len(p)
    cost = np.r_[np.zeros(dim), 1.0]
    a_ub = np.block([[np.eye(dim), -np.ones((dim, 1))], [-np.eye(dim), -np.ones((dim, 1))]])
    bounds = [(-pi, 1 - pi) for pi in p] + [(0, None)]
    res = linprog(
        cost,
        A_ub=a_ub,
        b_ub=np.zeros(2 * dim),
        A_eq=np.r_[w, 0.0][None],
        b_eq=[b - w @ p],
        bounds=bounds,
    )
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
    res = minimize(
        lambda d: d @ d,
        np.zeros_like(p),
        jac=lambda d: 2 * d,
        method="SLSQP",
        bounds=list(zip(lower, upper)),
        constraints=[{"type": "eq", "fun": lambda d: w @ (p + d) - b}],
        options={"ftol": 1e-12, "maxiter": 1000},
    )
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
            np.testing.assert_allclose(
                d[i], np.where(toward > 0, 1 - p[i], -p[i]) * (toward != 0), atol=1e-6
            )
            continue
        checked += 1
        np.testing.assert_allclose(d[i], expected, atol=2e-5)
    assert checked >= 10


def minimal_l1_move(p, w, b):
    """min ||d||_1 s.t. w . (p + d) = b, 0 <= p + d <= 1, by linear programming (d = u - v)."""
    dim = len(p)
    res = linprog(
        np.ones(2 * dim),
        A_eq=np.r_[w, -w][None],
        b_eq=[b - w @ p],
        bounds=[(0, 1 - pi) for pi in p] + [(0, pi) for pi in p],
    )
    return res.fun if res.status == 0 else None


def test_l1_projection_matches_linear_programming():
    p, w, b = projection_problems()
    d = keras.ops.convert_to_numpy(project_l1_hyperplane(p, w, b[:, None]))
    assert (p + d >= -1e-6).all() and (p + d <= 1 + 1e-6).all()
    assert (d[0, :2] == 0).all()
    reached = [
        i
        for i in range(len(p))
        if minimal_l1_move(*(v[i].astype("float64") for v in (p, w, b))) is not None
    ]  # elsewhere, the largest move towards the hyperplane
    assert len(reached) >= 10
    for i in reached:
        expected = minimal_l1_move(*(v[i].astype("float64") for v in (p, w, b)))
        assert np.abs(d[i]).sum() == pytest.approx(expected, abs=1e-5)
        assert w[i] @ (p[i] + d[i]) == pytest.approx(b[i], abs=1e-4)


def test_l2_projection_of_a_point_on_the_hyperplane_is_zero():
    p, w, _ = projection_problems(n=4)
    d = keras.ops.convert_to_numpy(project_l2_hyperplane(p, w, np.sum(w * p, 1, keepdims=True)))
    np.testing.assert_allclose(d, 0.0, atol=1e-6)


@pytest.mark.jax
@pytest.mark.parametrize("norm, eps", [("linf", 0.3), ("l2", 1.5)])
def test_outputs_in_the_ball_and_fooling_at_large_eps(norm, eps):
    model, x, y = mlp_and_batch(SHAPE)
    x_adv = np.asarray(FABT(eps=eps, norm=norm, steps=10, n_target_classes=3)(model, x, y))
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert distances(x, x_adv, norm).max() <= eps * (1 + 1e-5) + 1e-6
    fooled = predict_labels(model, x_adv) != y
    assert fooled.mean() > 0.8
    # Unfooled points are returned unchanged.
    np.testing.assert_array_equal(x_adv[~fooled], x[~fooled])


def test_tiny_eps_returns_clean_images():
    model, x, y = mlp_and_batch(SHAPE, n=8)
    x_adv = np.asarray(FABT(eps=1e-4, steps=5, n_target_classes=2)(model, x, y))
    np.testing.assert_array_equal(x_adv, x)


@pytest.mark.parametrize("norm, eps", [("linf", 0.3), ("l2", 1.5)])
def test_finds_smaller_perturbations_than_the_budget(norm, eps):
    # FAB minimises the distance: the examples it finds are mostly much closer than eps.
    model, x, y = mlp_and_batch(SHAPE)
    x_adv = np.asarray(FABT(eps=eps, norm=norm, steps=20, n_target_classes=3)(model, x, y))
    fooled = predict_labels(model, x_adv) != y
    assert fooled.mean() > 0.8
    assert np.median(distances(x, x_adv, norm)[fooled]) < 0.67 * eps


def linear_model(classes=10, seed=0):
    """A linear classifier of 4 x 4 images, centred on the grey image, the same on every backend."""
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(classes)]
    )
    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=(16, classes))
    bias = rng.normal(scale=0.1, size=classes) - 0.5 * kernel.sum(axis=0)
    model.set_weights([kernel.astype("float32"), bias.astype("float32")])
    return model


def closest_boundary(model, x, y, norm):
    """Distance from each x to the nearest decision boundary of a linear model, in closed form.

    Misclassification is the union of the half-spaces z_j >= z_y; the distance
    to each is (z_y - z_j) / ||w_y - w_j||_* in the dual norm (the box is not
    reached: x lies in [0.4, 0.6] and every distance is below 0.4).
    """
    w, b = (np.asarray(v, "float64") for v in model.get_weights())
    z = x.reshape(len(x), -1) @ w + b
    dual = {"linf": 1, "l2": 2, "l1": np.inf}[norm]
    out = []
    for i, label in enumerate(y):
        dw = w[:, [label]] - w
        ratio = (z[i, label] - z[i]) / np.maximum(np.linalg.norm(dw, ord=dual, axis=0), 1e-12)
        ratio[label] = np.inf
        out.append(ratio.min())
    return np.array(out)


def distances(x, x_adv, norm):
    delta = (x_adv - x).reshape(len(x), -1)
    return {
        "linf": np.abs(delta).max(axis=1),
        "l2": np.linalg.norm(delta, axis=1),
        "l1": np.abs(delta).sum(axis=1),
    }[norm]


@pytest.mark.jax
@pytest.mark.parametrize("norm, eps", [("linf", 1.0), ("l2", 4.0), ("l1", 16.0)])
def test_fab_finds_the_closest_boundary_of_a_linear_model(norm, eps):
    model = linear_model()
    x = np.random.default_rng(0).uniform(0.4, 0.6, (12, 4, 4, 1)).astype("float32")
    y = predict_labels(model, x)
    x_adv = np.asarray(FAB(eps, norm=norm, steps=50)(model, x, y))
    assert (predict_labels(model, x_adv) != y).all()
    closest = closest_boundary(model, x, y, norm)
    assert closest.max() < 0.4
    ratio = distances(x, x_adv, norm) / closest
    # Never closer than the boundary; eta's 5% overshoot, then beta's pull back.
    assert ratio.min() >= 1 - 1e-4 and ratio.max() <= 1.01


@pytest.mark.jax
@pytest.mark.parametrize("norm, eps", [("linf", 0.05), ("l2", 0.2)])
def test_fab_equals_fab_t_with_two_classes(norm, eps):
    # With two classes the closest boundary is the one to the only target.
    model = linear_model(classes=2)
    x = np.random.default_rng(1).uniform(0, 1, (16, 4, 4, 1)).astype("float32")
    y = predict_labels(model, x)
    untargeted = np.asarray(FAB(eps, norm=norm, steps=20)(model, x, y))
    targeted = np.asarray(FABT(eps, norm=norm, steps=20, n_target_classes=1)(model, x, y))
    np.testing.assert_allclose(untargeted, targeted, atol=1e-6)
    fooled = predict_labels(model, untargeted) != y
    assert 0 < fooled.mean() < 1  # the budget splits the batch


@pytest.mark.jax
@pytest.mark.parametrize("norm, eps", [("linf", 0.05), ("l2", 0.25), ("l1", 0.7)])
def test_fab_restarts_stay_in_the_ball_and_only_add(norm, eps):
    model, x, y = mlp_and_batch(SHAPE)
    one = np.asarray(FAB(eps, norm=norm, steps=10, seed=0)(model, x, y))
    five = np.asarray(FAB(eps, norm=norm, steps=10, restarts=5, seed=0)(model, x, y))
    assert distances(x, five, norm).max() <= eps * (1 + 1e-5) + 1e-6
    assert five.min() >= 0 and five.max() <= 1
    # The first run starts from the clean image, so restarts only add examples.
    fooled_one, fooled_five = (predict_labels(model, a) != y for a in (one, five))
    assert (fooled_five | ~fooled_one).all()
    np.testing.assert_array_equal(five[~fooled_five], x[~fooled_five])


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="norm"):
        FABT(eps=0.5, norm="l0")
    with pytest.raises(ValueError, match="steps"):
        FABT(eps=0.1, steps=0)
    with pytest.raises(ValueError, match="restarts"):
        FAB(eps=0.1, restarts=0)
