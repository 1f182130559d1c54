"""Weighted k-NN accuracy: against a brute-force loop, multiple k, FSR parts."""

import keras
import numpy as np
import pytest

from tfrobust.evaluation.knn import knn_accuracy
from tfrobust.layers import FSR

pytestmark = pytest.mark.jax


def _identity_model(dim):
    inputs = keras.Input((dim,))
    features = keras.layers.Identity(name="features")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(features))


def _brute_force(train, y_train, test, y_test, k, temperature):
    def unit(v):
        return v / np.linalg.norm(v)

    correct = 0
    for point, label in zip(test, y_test):
        similarity = np.array([unit(point) @ unit(other) for other in train])
        votes = {}
        for index in np.argsort(-similarity)[:k]:
            votes[y_train[index]] = votes.get(y_train[index], 0.0) + np.exp(
                similarity[index] / temperature
            )
        correct += max(votes, key=votes.get) == label
    return correct / len(test)


def test_matches_a_brute_force_weighted_vote():
    rng = np.random.default_rng(0)
    x_train, x_test = rng.normal(size=(40, 6)), rng.normal(size=(15, 6))
    y_train, y_test = rng.integers(0, 3, 40), rng.integers(0, 3, 15)
    model = _identity_model(6)
    got = knn_accuracy(
        model,
        "features",
        x_train,
        y_train,
        x_test,
        y_test,
        k=(1, 3, 7),
        temperature=0.5,
        batch_size=7,
    )
    for k in (1, 3, 7):
        expected = _brute_force(
            x_train.astype("float32"), y_train, x_test.astype("float32"), y_test, k, 0.5
        )
        assert got[k] == pytest.approx(expected)


def test_separable_classes_are_classified_perfectly():
    rng = np.random.default_rng(1)
    centres = np.eye(4)[:3] * 5.0
    y_train, y_test = np.repeat(np.arange(3), 10), np.repeat(np.arange(3), 4)
    x_train = centres[y_train] + rng.normal(scale=0.1, size=(30, 4))
    x_test = centres[y_test] + rng.normal(scale=0.1, size=(12, 4))
    accuracy = knn_accuracy(_identity_model(4), "features", x_train, y_train, x_test, y_test)
    assert isinstance(accuracy, float) and accuracy == 1.0


def test_reads_fsr_parts_from_the_layer():
    keras.utils.set_random_seed(0)
    # The shapes of tests/layers/test_fsr.py, so that JAX reuses their compilations.
    inputs = keras.Input((4, 4, 4))
    x = FSR(4, num_classes=3, hidden_channels=4, name="fsr")(inputs)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    rng = np.random.default_rng(2)
    x_train, x_test = rng.normal(size=(12, 4, 4, 4)), rng.normal(size=(8, 4, 4, 4))
    y_train, y_test = np.arange(12) % 3, np.arange(8) % 3
    args = (model, "fsr", x_train, y_train, x_test, y_test)
    assert knn_accuracy(*args, k=3, part="outputs", batch_size=4) == knn_accuracy(
        *args, k=3, batch_size=4
    )
    assert 0.0 <= knn_accuracy(*args, k=3, part="robust", pool="flatten", batch_size=4) <= 1.0
    with pytest.raises(ValueError, match="Received: part"):
        knn_accuracy(*args, part="nonsense")


@pytest.mark.parametrize("kwargs", [{"k": 0}, {"k": 100}, {"temperature": 0.0}, {"pool": "max"}])
def test_bad_arguments_are_rejected(kwargs):
    x = np.zeros((5, 3), "float32")
    with pytest.raises(ValueError, match="Received"):
        knn_accuracy(_identity_model(3), "features", x, np.zeros(5), x, np.zeros(5), **kwargs)
