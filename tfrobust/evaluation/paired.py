"""Is one model more robust than another? Compare them point by point.

Two accuracies measured on the same points are correlated: most points are
robust under both models or under neither, and only the points where the
models disagree say which is better. McNemar's exact test looks only at those,
so it separates two models on 1,000 points where comparing the two accuracies
as if they were independent would need several times more.
"""

import dataclasses

import numpy as np
from scipy import stats

LEVEL = 0.05  # two-sided significance level of the zoo's verdicts


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Model a against model b on the same `n` points.

    `only_a`: points robust under a and not under b; `only_b` the reverse
    (None when the comparison was not paired). `p_value`: two-sided, of "a and
    b are equally robust".
    """

    n: int
    accuracy_a: float
    accuracy_b: float
    p_value: float
    only_a: int | None = None
    only_b: int | None = None

    @property
    def paired(self):
        return self.only_a is not None

    @property
    def margin(self):
        return self.accuracy_a - self.accuracy_b

    @property
    def significant(self):
        return self.p_value < LEVEL


def paired_comparison(robust_a, robust_b):
    """McNemar's exact test on two robust masks over the same points, in the same order.

    Example:
        >>> import numpy as np
        >>> a = np.array([True] * 60 + [False] * 40)
        >>> b = np.array([True] * 45 + [False] * 55)
        >>> c = paired_comparison(a, b)
        >>> c.only_a, c.only_b, c.significant
        (15, 0, True)
    """
    a, b = np.asarray(robust_a, bool), np.asarray(robust_b, bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            "paired_comparison needs two masks over the same points. "
            f"Received: shapes {a.shape} and {b.shape}"
        )
    only_a, only_b = int((a & ~b).sum()), int((b & ~a).sum())
    discordant = only_a + only_b
    p = 1.0 if discordant == 0 else stats.binomtest(only_a, discordant, 0.5).pvalue
    return Comparison(len(a), float(a.mean()), float(b.mean()), float(p), only_a, only_b)


def unpaired_comparison(accuracy_a, accuracy_b, n):
    """Two accuracies on `n` points each, as independent samples (a two-proportion z-test).

    Only for results whose per-point masks were not kept: it ignores that the
    points are shared, so it is far less sensitive than `paired_comparison`.
    """
    pooled = (accuracy_a + accuracy_b) / 2
    error = (2 * pooled * (1 - pooled) / max(n, 1)) ** 0.5
    margin = accuracy_a - accuracy_b
    p = 1.0 if error == 0 else float(2 * stats.norm.sf(abs(margin) / error))
    return Comparison(n, float(accuracy_a), float(accuracy_b), p)
