"""Projections onto the eps-balls and the [0, 1] box, checked by hand."""

import numpy as np
import pytest
from keras import ops

from tfrobust.attacks import projections

pytestmark = pytest.mark.jax


def numpy(t):
    return ops.convert_to_numpy(t)


def test_l2_projection_by_hand():
    # ||(3, 4)|| = 5: onto radius 1 gives (0.6, 0.8); a point inside stays put.
    delta = np.array([[[[3.0]], [[4.0]]], [[[0.3]], [[0.4]]]], dtype="float32")
    out = numpy(projections.project_l2(delta, 1.0)).reshape(2, 2)
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.3, 0.4]], rtol=1e-6)


def test_l2_projection_keeps_zero():
    out = numpy(projections.project_l2(np.zeros((1, 2, 2, 1), "float32"), 0.5))
    assert np.all(out == 0)


def test_linf_projection_clips_each_pixel():
    delta = np.array([-0.5, -0.05, 0.0, 0.2], "float32").reshape(1, 2, 2, 1)
    out = numpy(projections.project_linf(delta, 0.1)).ravel()
    np.testing.assert_allclose(out, [-0.1, -0.05, 0.0, 0.1])


def test_project_then_box():
    x = np.array([0.95, 0.5], "float32").reshape(1, 1, 2, 1)
    x_adv = np.array([1.5, 0.5], "float32").reshape(1, 1, 2, 1)
    out = numpy(projections.project(x_adv, x, 0.2, "linf")).ravel()
    np.testing.assert_allclose(out, [1.0, 0.5])
    out = numpy(projections.project(x_adv, x, 0.2, "l2")).ravel()
    np.testing.assert_allclose(out, [1.0, 0.5])  # 0.95 + 0.2 clipped to 1


def test_steepest_ascent_has_unit_norm():
    g = np.array([3.0, -4.0], "float32").reshape(1, 1, 2, 1)
    np.testing.assert_allclose(numpy(projections.steepest_ascent(g, "linf")).ravel(), [1, -1])
    np.testing.assert_allclose(
        numpy(projections.steepest_ascent(g, "l2")).ravel(), [0.6, -0.8], rtol=1e-6
    )
