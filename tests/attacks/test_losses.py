"""Attack losses against values computed by hand on tiny logit vectors."""

import numpy as np
import pytest
from keras import ops

from tfrobust.attacks import losses

pytestmark = pytest.mark.jax

LOGITS = np.array([[1.0, 4.0, 2.0, 0.5, 3.0]], dtype="float32")  # sorted: 4, 3, 2, 0.5, 1


def value(fn, *args):
    return float(ops.convert_to_numpy(fn(*args))[0])


def test_dlr_by_hand():
    # y = 2: z_y = 2, max_{j!=y} = 4, z_pi1 - z_pi3 = 4 - 2 = 2 -> -(2 - 4) / 2 = 1.
    assert value(losses.dlr, LOGITS, np.array([2])) == pytest.approx(1.0)
    # y = 1 (the prediction): z_y = 4, max_{j!=y} = 3 -> -(4 - 3) / 2 = -0.5.
    assert value(losses.dlr, LOGITS, np.array([1])) == pytest.approx(-0.5)


def test_dlr_is_shift_and_scale_invariant():
    y = np.array([3])
    assert value(losses.dlr, 7.0 * LOGITS - 2.0, y) == pytest.approx(value(losses.dlr, LOGITS, y))


def test_targeted_dlr_by_hand():
    # y = 1, t = 0: -(4 - 1) / (4 - (2 + 1) / 2) = -3 / 2.5 = -1.2.
    assert value(losses.targeted_dlr, LOGITS, np.array([0]), np.array([1])) == pytest.approx(-1.2)
    # Without y, z_y is max_{j!=t} z_j = 4: the same value while y is predicted.
    assert value(losses.targeted_dlr, LOGITS, np.array([0])) == pytest.approx(-1.2)


def test_cw_margin_by_hand():
    assert value(losses.cw_margin, LOGITS, np.array([4])) == pytest.approx(4.0 - 3.0)
    assert value(losses.cw_margin, LOGITS, np.array([1])) == pytest.approx(3.0 - 4.0)
    assert value(losses.targeted_cw_margin, LOGITS, np.array([4])) == pytest.approx(3.0 - 4.0)


def test_cross_entropy_by_hand():
    expected = np.log(np.exp(LOGITS[0]).sum()) - LOGITS[0, 2]
    assert value(losses.cross_entropy, LOGITS, np.array([2])) == pytest.approx(expected, rel=1e-5)
    assert value(losses.targeted_cross_entropy, LOGITS, np.array([2])) == pytest.approx(
        -expected, rel=1e-5
    )


def test_get_rejects_unknown_loss():
    with pytest.raises(ValueError, match="Received: loss='xent'"):
        losses.get("xent")


def test_dlr_needs_three_classes():
    with pytest.raises(ValueError, match="at least 3 classes"):
        losses.dlr(np.zeros((1, 2), "float32"), np.array([0]))
