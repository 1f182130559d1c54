"""The L1 threat model: the projection, APGD-L1, FAB-T-L1, Square-L1, AutoAttack at L1.

The projection and FAB's L1 hyperplane projection are also compared with the
reference code (pyautoattack, optional: needs PyTorch) on the same inputs.
"""

import keras
import numpy as np
import pytest

from tests.test_case import mlp_and_batch
from tfrobust.attacks import APGD
from tfrobust.attacks import APGDT
from tfrobust.attacks import FABT
from tfrobust.attacks import FGSM
from tfrobust.attacks import PGD
from tfrobust.attacks import AutoAttack
from tfrobust.attacks import Square
from tfrobust.attacks.apgd import large_eps_schedule
from tfrobust.attacks.apgd import sparse_step
from tfrobust.attacks.fab import project_l1_hyperplane
from tfrobust.attacks.projections import project_l1
from tfrobust.attacks.protocol import perturbation_norms
from tfrobust.attacks.protocol import predict_labels

SHAPE = (8, 8, 3)  # the tests' input shape


def projection_inputs(n=16, dim=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, dim)).astype("float32")
    x[:, :5] = rng.choice([0.0, 1.0], (n, 5))  # pixels on the box's faces
    delta = (rng.normal(size=(n, dim)) * rng.uniform(0.01, 1, (n, 1))).astype("float32")
    return x, delta


def soft_threshold_by_bisection(x, delta, eps):
    """The Euclidean projection onto the L1 ball in the box, its threshold found by bisection."""
    a = np.abs(delta).astype("float64")
    room = np.where(delta > 0, 1 - x, x).astype("float64")
    size = lambda lam: np.minimum(np.maximum(a - lam, 0), room).sum()  # noqa: E731
    lo, hi = 0.0, a.max() + 1.0
    if size(0.0) > eps:
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if size(mid) > eps else (lo, mid)
    return np.sign(delta) * np.minimum(np.maximum(a - hi if size(0.0) > eps else a, 0), room)


@pytest.mark.jax
@pytest.mark.parametrize("eps", [0.5, 3.0, 100.0])
def test_projection_matches_a_bisection_on_the_soft_threshold(eps):
    x, delta = projection_inputs()
    ours = keras.ops.convert_to_numpy(project_l1(delta, x, eps))
    for i in range(len(x)):
        np.testing.assert_allclose(
            ours[i], soft_threshold_by_bisection(x[i], delta[i], eps), atol=2e-6
        )
    assert (np.abs(ours).sum(axis=1) <= eps * (1 + 1e-6)).all()
    assert (x + ours >= -1e-7).all() and (x + ours <= 1 + 1e-7).all()


def test_projection_keeps_the_budget_in_float32_on_large_images():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (8, 32, 32, 3)).astype("float32")
    delta = rng.normal(size=x.shape).astype("float32")
    out = keras.ops.convert_to_numpy(project_l1(delta, x, 12.0))
    assert perturbation_norms(x, x + out, "l1").max() <= 12.0 * (1 + 1e-5)
    assert perturbation_norms(x, x + out, "l1").min() >= 12.0 * (1 - 1e-5)


def test_sparse_step_takes_the_top_coordinates():
    grad = np.array([[0.1, -3.0, 0.5, 2.0, 0.0, -0.2, 0.3, 1.0, 0.05, -0.4]], "float32")
    step = keras.ops.convert_to_numpy(sparse_step(grad, np.array([0.2], "float32")))
    # 20% of 10 coordinates: threshold at the 8th smallest |g| (rank 8), so the top two.
    np.testing.assert_allclose(step, [[0, -0.5, 0, 0.5, 0, 0, 0, 0, 0, 0]], atol=1e-7)


def test_large_eps_schedule_is_the_references():
    # pyautoattack 0.2.0 autopgd_base.py lines 485-490: ceil(.3 * n) twice, the rest.
    assert large_eps_schedule(100) == [(3.0, 30), (2.0, 30), (1.0, 40)]
    assert large_eps_schedule(7) == [(3.0, 3), (2.0, 3), (1.0, 1)]


class Recording(keras.layers.Layer):
    """Records its inputs (eager only): APGD's iterates."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def call(self, x):
        self.seen.append(keras.ops.convert_to_numpy(x))
        return x


@pytest.mark.parametrize("large_eps", [False, True])
def test_apgd_l1_iterates_stay_in_the_ball_and_the_box(large_eps):
    model, x, y = mlp_and_batch(SHAPE, n=8)
    spy = Recording()
    spied = keras.Sequential([keras.Input((8, 8, 3)), spy, model])
    attack = APGD(1.5, norm="l1", steps=10, restarts=2, large_eps=large_eps, seed=0)
    forward = lambda z: spied(z, training=False)  # noqa: E731
    x_adv = keras.ops.convert_to_numpy(
        attack.perturb(forward, keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y))
    )
    # Every query lies in the box; within the ball of its stage (3, 2, 1 x eps with large_eps).
    budgets = [3.0, 2.0] * large_eps + [1.0]
    assert len(spy.seen) > 10
    for z in spy.seen:
        assert z.min() >= 0 and z.max() <= 1
        assert perturbation_norms(x, z, "l1").max() <= max(budgets) * 1.5 * (1 + 1e-5)
    assert perturbation_norms(x, x_adv, "l1").max() <= 1.5 * (1 + 1e-5)
    assert x_adv.min() >= 0 and x_adv.max() <= 1


@pytest.mark.jax
@pytest.mark.parametrize(
    "attack",
    [
        lambda eps: APGD(eps, norm="l1", steps=10, seed=0),
        lambda eps: APGD(eps, norm="l1", steps=10, large_eps=True, seed=0),
        lambda eps: APGDT(eps, norm="l1", steps=10, n_target_classes=3, large_eps=True, seed=0),
        lambda eps: FABT(eps, norm="l1", steps=10, n_target_classes=3),
        lambda eps: Square(eps, norm="l1", n_queries=100, seed=0),
    ],
)
def test_l1_attacks_stay_in_the_ball_and_fool(attack):
    model, x, y = mlp_and_batch(SHAPE)
    x_adv = np.asarray(attack(2.0)(model, x, y))
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert perturbation_norms(x, x_adv, "l1").max() <= 2.0 * (1 + 1e-5) + 1e-6
    assert (predict_labels(model, x_adv) != y).mean() >= 0.5


def test_autoattack_l1_finds_what_a_weak_attack_misses():
    model, x, y = mlp_and_batch(SHAPE, n=32)
    eps = 0.6
    weak = Square(eps, norm="l1", n_queries=10, seed=0)
    weak_robust = (predict_labels(model, np.asarray(weak(model, x, y))) == y).mean()
    aa = AutoAttack(eps, norm="l1", seed=0, apgd_steps=10, fab_steps=10, square_queries=50)
    _, report = aa.run(model, x, y)
    assert [s.name for s in report.stages] == ["apgd-ce", "apgd-t", "fab-t", "square"]
    assert report.robust_accuracy < weak_robust


@pytest.mark.parametrize("attack", [PGD, FGSM])
def test_attacks_without_an_l1_step_refuse_it(attack):
    with pytest.raises(ValueError, match="supports `norm`"):
        attack(eps=1.0, norm="l1")


def test_large_eps_needs_l1_and_a_step_per_stage():
    with pytest.raises(ValueError, match="large_eps"):
        APGD(8 / 255, large_eps=True)
    with pytest.raises(ValueError, match="steps=4"):
        APGDT(1.0, norm="l1", steps=4, large_eps=True)


def reference_module(name):
    pytest.importorskip("torch")
    pytest.importorskip("pyautoattack")
    import importlib

    return importlib.import_module(f"pyautoattack.{name}")


@pytest.mark.parametrize("eps", [0.5, 3.0, 100.0])
def test_projection_matches_the_reference(eps):
    import_torch = pytest.importorskip("torch")
    l1_projection = reference_module("autopgd_base").L1_projection
    x, delta = projection_inputs(n=32, dim=300, seed=2)
    theirs = l1_projection(import_torch.from_numpy(x), import_torch.from_numpy(delta), eps)
    theirs = delta + theirs.numpy()  # the reference returns the correction
    ours = keras.ops.convert_to_numpy(project_l1(delta, x, eps))
    # The reference finds its threshold from float32 cumulative sums over 600
    # kinks, off by up to 2e-5 here; ours agrees with the float64 bisection
    # above to 2e-7.
    np.testing.assert_allclose(ours, theirs, atol=5e-5)


def test_l1_hyperplane_projection_matches_the_reference():
    torch = pytest.importorskip("torch")
    projection_l1 = reference_module("fab_projections").projection_l1
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, (64, 50)).astype("float32")
    w = rng.normal(size=(64, 50)).astype("float32")
    b = (np.sum(w * p, axis=1) + rng.normal(scale=2.0, size=64)).astype("float32")
    theirs = projection_l1(*(torch.from_numpy(v) for v in (p, w, b))).numpy()
    ours = keras.ops.convert_to_numpy(project_l1_hyperplane(p, w, b[:, None]))
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
