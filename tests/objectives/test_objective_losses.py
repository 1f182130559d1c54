"""Each objective's terms against hand-computed values on tiny logits."""

import math

import numpy as np
import pytest
from keras import ops

from tfrobust import backend
from tfrobust import objectives

pytestmark = pytest.mark.jax


def _t(values):
    return ops.convert_to_tensor(np.array(values, dtype="float32"))


def _values(terms):
    return [float(ops.convert_to_numpy(t)) for t in terms]


def test_standard_is_clean_cross_entropy():
    terms = objectives.Standard()(ops.convert_to_tensor([0]), _t([[2.0, 0.0, 0.0]]), None)
    assert _values(terms) == pytest.approx([math.log(1 + 2 * math.exp(-2))], rel=1e-5)


def test_pgd_at_is_adversarial_cross_entropy():
    terms = objectives.PGDAT()(ops.convert_to_tensor([1]), None, _t([[0.0, 0.0]]))
    assert _values(terms) == pytest.approx([math.log(2)], rel=1e-5)


def test_trades_terms():
    # p(x) = (1/2, 1/2), p(x_adv) = (3/4, 1/4): KL = 1/2 log(4/3).
    terms = objectives.TRADES(beta=6.0)(
        ops.convert_to_tensor([0]), _t([[0.0, 0.0]]), _t([[math.log(3), 0.0]])
    )
    assert _values(terms) == pytest.approx([math.log(2), 6 * 0.5 * math.log(4 / 3)], rel=1e-5)


def test_trades_attack_loss_takes_the_attacks_argument_order():
    # Attacks call `loss(logits, target)`. The example: clean logits
    # [0.1, 1.0, 0.3], adversarial [2.0, 0.5, -1.0]: KL(p_clean || p_adv) = 0.79.
    trades = objectives.TRADES()
    clean, adversarial = _t([[0.1, 1.0, 0.3]]), _t([[2.0, 0.5, -1.0]])
    target = trades.attack_target(ops.convert_to_tensor([0]), clean)
    p, q = (
        np.exp(z) / np.exp(z).sum() for z in (np.array([0.1, 1.0, 0.3]), np.array([2.0, 0.5, -1.0]))
    )
    expected = float(np.sum(p * np.log(p / q)))
    assert expected == pytest.approx(0.79, abs=0.005)
    assert _values(trades.attack_loss()(adversarial, target)) == pytest.approx([expected], rel=1e-5)


def test_mart_terms():
    # p(x_adv) = (1/4, 1/2, 1/4), y = 0: the strongest wrong class has p = 1/2.
    # p(x) = (1/3, 1/3, 1/3): KL(p(x) || p(x_adv)) = 1/3 (2 log(4/3) + log(2/3)).
    terms = objectives.MART(beta=6.0)(
        ops.convert_to_tensor([0]), _t([[0.0, 0.0, 0.0]]), _t([[0.0, math.log(2), 0.0]])
    )
    bce = math.log(4) - math.log(1.0001 - 0.5)
    kl = (2 * math.log(4 / 3) + math.log(2 / 3)) / 3 * (1.0000001 - 1 / 3)
    assert _values(terms) == pytest.approx([bce, 6 * kl], rel=1e-5)


def test_alp_terms():
    terms = objectives.ALP(weight=0.5)(
        ops.convert_to_tensor([0]), _t([[1.0, 0.0]]), _t([[0.0, 1.0]])
    )
    expected = [0.5 * math.log(1 + math.exp(-1)), 0.5 * math.log(1 + math.exp(1)), 0.5 * 2.0]
    assert _values(terms) == pytest.approx(expected, rel=1e-5)


def test_aalp_weights_pairing_by_clean_confidence():
    confidence = math.e / (1 + math.e)
    terms = objectives.AALP(alpha=1.0)(
        ops.convert_to_tensor([0]), _t([[1.0, 0.0]]), _t([[0.0, 1.0]])
    )
    assert _values(terms)[2] == pytest.approx(2.0 * confidence, rel=1e-5)


def test_aalp_confidence_weight_carries_no_gradient():
    aalp, y, adversarial = objectives.AALP(alpha=1.0), ops.convert_to_tensor([0]), _t([[0.0, 1.0]])
    _, grad = backend.value_and_grad(lambda z: aalp(y, z, adversarial)[2], _t([[1.0, 0.0]]))
    confidence = math.e / (1 + math.e)
    # d/dz of w * ||z - z_adv||^2 with w held fixed: 2 w (z - z_adv).
    np.testing.assert_allclose(
        ops.convert_to_numpy(grad), [[2 * confidence, -2 * confidence]], rtol=1e-5
    )


@pytest.mark.parametrize(
    "build",
    [
        lambda: objectives.TRADES(beta=-1),
        lambda: objectives.MART(beta="6"),
        lambda: objectives.ALP(weight=True),
    ],
)
def test_bad_weights_are_rejected(build):
    with pytest.raises(ValueError, match="Received"):
        build()
