"""Two models on the same points: McNemar's exact test, against the unpaired z-test."""

import numpy as np
import pytest
from scipy import stats

from tfrobust.evaluation import paired_comparison
from tfrobust.evaluation.paired import unpaired_comparison


def _masks(n=1000, both=480, only_a=20, only_b=0):
    a = np.zeros(n, bool)
    b = np.zeros(n, bool)
    a[:both] = b[:both] = True
    a[both : both + only_a] = True
    b[both + only_a : both + only_a + only_b] = True
    return a, b


def test_only_the_points_where_the_models_disagree_decide():
    a, b = _masks(only_a=20, only_b=0)
    c = paired_comparison(a, b)
    assert (c.n, c.only_a, c.only_b) == (1000, 20, 0)
    assert c.margin == pytest.approx(0.02)
    assert c.p_value == pytest.approx(2 * 0.5**20)  # all 20 disagreements one way
    assert c.significant and c.paired
    # The same two accuracies as independent samples: a 2-point margin on 1,000 points
    # is within the sampling error.
    u = unpaired_comparison(c.accuracy_a, c.accuracy_b, c.n)
    assert not u.significant and not u.paired
    assert u.p_value == pytest.approx(2 * stats.norm.sf(0.02 / np.sqrt(2 * 0.49 * 0.51 / 1000)))


def test_balanced_disagreements_are_not_significant_and_identical_masks_give_p_one():
    a, b = _masks(only_a=30, only_b=25)
    c = paired_comparison(a, b)
    assert (c.only_a, c.only_b) == (30, 25) and not c.significant
    assert c.p_value == pytest.approx(stats.binomtest(30, 55).pvalue)
    assert paired_comparison(a, a).p_value == 1.0


def test_masks_over_different_points_are_refused():
    with pytest.raises(ValueError, match=r"same points.*\(10,\) and \(9,\)"):
        paired_comparison(np.ones(10, bool), np.ones(9, bool))
