"""APGD's step-size checkpoints against the paper's schedule, computed by hand."""

import pytest

from tfrobust.attacks.apgd import checkpoints

pytestmark = pytest.mark.jax


def test_checkpoints_for_100_iterations():
    # p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06):
    # periods 0.22, 0.19, 0.16, 0.13, 0.10, 0.07, then 0.06 twice (0.04 < 0.06);
    # p = 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99; w_j = ceil(p_j * 100).
    assert checkpoints(100) == [22, 41, 57, 70, 80, 87, 93, 99]


def test_checkpoints_for_short_runs():
    # 10 iterations: periods 2, 1, 1, ... (never shorter than one iteration).
    assert checkpoints(10) == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert checkpoints(1) == [1]
