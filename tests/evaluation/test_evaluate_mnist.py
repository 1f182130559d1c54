"""`evaluate` on a small FGSM-RS-trained MNIST CNN: numbers that make sense."""

import numpy as np
import pytest

from tfrobust.attacks.ensemble import predict_labels
from tfrobust.evaluation import evaluate


def test_robust_accuracies_are_consistent(robust_mnist_model, mnist_test):
    x, y = mnist_test
    summary = evaluate(robust_mnist_model, (x, y), attacks=["apgd-ce", "square"],
                       eps=robust_mnist_model.train_eps, n=100, batch_size=100, seed=0,
                       attack_kwargs={"apgd-ce": {"steps": 10}, "square": {"n_queries": 100}})
    clean = (predict_labels(robust_mnist_model, x[:100]) == y[:100]).mean()
    assert summary.clean_accuracy == pytest.approx(clean)
    assert summary.clean_accuracy > 0.85
    accs = {a.name: a.robust_accuracy for a in summary.attacks}
    assert summary.robust_accuracy <= min(accs.values())
    assert 0.3 < summary.robust_accuracy < summary.clean_accuracy  # robust, but not fully
    # The white-box attack is at least as strong as 100 queries of Square.
    assert accs["apgd-ce"] <= accs["square"] + 0.02


def test_dataset_input_is_accepted(robust_mnist_model, mnist_test):
    import tensorflow as tf

    x, y = mnist_test
    ds = tf.data.Dataset.from_tensor_slices((x[:40], y[:40])).batch(16)
    summary = evaluate(robust_mnist_model, ds, attacks="fgsm",
                       eps=robust_mnist_model.train_eps, n=40, batch_size=40)
    assert summary.n == 40
    assert np.isfinite(summary.robust_accuracy)
