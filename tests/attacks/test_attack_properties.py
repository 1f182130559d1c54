"""Every attack returns images in [0, 1] within its eps-ball, whatever the shapes and budget."""

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tfrobust.attacks import APGD
from tfrobust.attacks import APGDT
from tfrobust.attacks import FABT
from tfrobust.attacks import FGSM
from tfrobust.attacks import PGD
from tfrobust.attacks import Square

pytestmark = pytest.mark.jax

# Float32 rounding of x + eps; anything larger is a real violation.
TOL = 1e-6

# Each example compiles a fresh attack for a fresh model: few examples, each costly.
PROPERTY = settings(
    max_examples=5, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
FEW = settings(PROPERTY, max_examples=3)


@st.composite
def problems(draw, max_eps=1.0, min_side=3):
    """A random batch of images (some pixels at 0 or 1), labels and a budget."""
    n = draw(st.integers(1, 5))
    h = draw(st.integers(min_side, 9))
    c = draw(st.sampled_from([1, 3]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, h, h, c)).astype("float32")
    x[rng.uniform(size=x.shape) < 0.2] = 0.0
    x[rng.uniform(size=x.shape) < 0.2] = 1.0
    y = rng.integers(0, 5, size=n).astype("int32")
    eps = draw(st.floats(0.0, max_eps, allow_subnormal=False))
    return x, y, eps, seed


def tiny_model(shape, seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape),
            keras.layers.Conv2D(4, 2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(5),
        ]
    )


def check_in_ball(x, x_adv, eps, norm):
    x_adv = np.asarray(x_adv)
    assert x_adv.shape == x.shape and x_adv.dtype == np.float32
    assert np.all(np.isfinite(x_adv))
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    delta = (x_adv - x).reshape(len(x), -1)
    if norm == "linf":
        assert np.abs(delta).max() <= eps + TOL
    else:
        assert np.linalg.norm(delta, axis=1).max() <= eps * (1 + 1e-5) + TOL


@PROPERTY
@given(problems(), st.booleans())
def test_fgsm(problem, random_start):
    x, y, eps, seed = problem
    attack = FGSM(eps, random_start=random_start, step_size=1.25 * eps, seed=seed)
    check_in_ball(x, attack(tiny_model(x.shape[1:], seed), x, y), eps, "linf")


@PROPERTY
@given(problems(), st.sampled_from(["ce", "cw", "dlr"]), st.booleans())
def test_pgd_linf(problem, loss, targeted):
    x, y, eps, seed = problem
    attack = PGD(
        eps, step_size=max(eps, 1e-3) / 2, steps=3, loss=loss, targeted=targeted, seed=seed
    )
    check_in_ball(x, attack(tiny_model(x.shape[1:], seed), x, y), eps, "linf")


@PROPERTY
@given(problems(max_eps=5.0), st.sampled_from(["ce", "dlr"]), st.integers(1, 2))
def test_pgd_l2(problem, loss, restarts):
    x, y, eps, seed = problem
    attack = PGD(
        eps,
        step_size=max(eps, 1e-3) / 2,
        steps=3,
        norm="l2",
        loss=loss,
        restarts=restarts,
        seed=seed,
    )
    check_in_ball(x, attack(tiny_model(x.shape[1:], seed), x, y), eps, "l2")


@FEW
@given(problems(max_eps=3.0), st.sampled_from(["linf", "l2"]), st.sampled_from(["ce", "dlr"]))
def test_apgd(problem, norm, loss):
    x, y, eps, seed = problem
    eps = min(eps, 1.0) if norm == "linf" else eps
    attack = APGD(eps, norm=norm, steps=5, loss=loss, seed=seed)
    check_in_ball(x, attack(tiny_model(x.shape[1:], seed), x, y), eps, norm)


@FEW
@given(problems(), st.sampled_from(["linf", "l2"]))
def test_apgdt(problem, norm):
    x, y, eps, seed = problem
    attack = APGDT(eps, norm=norm, steps=4, n_target_classes=2, seed=seed)
    check_in_ball(x, attack(tiny_model(x.shape[1:], seed), x, y), eps, norm)


@FEW
@given(problems(max_eps=3.0, min_side=5), st.sampled_from(["linf", "l2"]))
def test_square(problem, norm):
    x, y, eps, seed = problem
    eps = min(eps, 1.0) if norm == "linf" else eps
    attack = Square(eps, norm=norm, n_queries=6, seed=seed)
    check_in_ball(x, attack(tiny_model(x.shape[1:], seed), x, y), eps, norm)


@FEW
@given(problems(max_eps=3.0), st.sampled_from(["linf", "l2"]))
def test_fabt(problem, norm):
    x, y, eps, seed = problem
    eps = min(eps, 1.0) if norm == "linf" else eps
    attack = FABT(eps, norm=norm, steps=3, n_target_classes=2, seed=seed)
    check_in_ball(x, attack(tiny_model(x.shape[1:], seed), x, y), eps, norm)
