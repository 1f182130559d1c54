"""On any valid input, `evaluate`'s accuracies are fractions and robust never exceeds clean."""

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tfrobust import attacks
from tfrobust.evaluation import evaluate


@pytest.mark.jax
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 12),
    classes=st.integers(2, 6),
    eps=st.floats(0.0, 0.5),
    seed=st.integers(0, 2**16),
    batch_size=st.integers(1, 8),
)
def test_evaluate_reports_fractions_with_robust_at_most_clean(n, classes, eps, seed, batch_size):
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(classes)]
    )
    x = rng.random((n, 4, 4, 1)).astype("float32")
    y = rng.integers(0, classes, n)
    summary = evaluate(
        model,
        (x, y),
        attacks=attacks.PGD(eps=eps, step_size=0.1, steps=2, seed=seed),
        eps=eps,
        n=None,
        batch_size=batch_size,
        curve_eps=[eps / 2],
    )
    values = [
        summary.clean_accuracy,
        summary.robust_accuracy,
        *(a.robust_accuracy for a in summary.attacks),
        *(p.robust_accuracy for p in summary.curve),
    ]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert summary.robust_accuracy <= summary.clean_accuracy
    assert all(p.robust_accuracy <= summary.clean_accuracy for p in summary.curve)
