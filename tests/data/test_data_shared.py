"""Real loads of the full MNIST and CIFAR-10 (JPEG) beside the checkout."""

import numpy as np
import pytest

from tfrobust import data

MNIST_TRAIN_HISTOGRAM = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_HISTOGRAM = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize(
    "split, histogram", [("train", MNIST_TRAIN_HISTOGRAM), ("test", MNIST_TEST_HISTOGRAM)]
)
def test_full_mnist(shared_datasets, split, histogram):
    images, labels, source = data.load_uint8("mnist", split, shared_datasets)
    assert images.shape == (sum(histogram), 28, 28, 1)
    assert images.dtype == np.uint8 and images.max() == 255
    assert np.bincount(labels).tolist() == histogram
    assert source.kind == "local"


@pytest.mark.parametrize("split, per_class", [("train", 5000), ("test", 1000)])
def test_full_cifar10_jpeg(shared_datasets, split, per_class):
    images, labels, source = data.load_uint8("cifar10", split, shared_datasets)
    assert images.shape == (10 * per_class, 32, 32, 3)
    assert np.bincount(labels).tolist() == [per_class] * 10
    assert source.report_as == "CIFAR-10 (JPEG)"


def test_environment_variable_is_a_source(shared_datasets, monkeypatch):
    monkeypatch.setenv("TFROBUST_DATA_DIR", str(shared_datasets))
    x, y = data.load_numpy("mnist", "test", n=100)
    assert x.shape == (100, 28, 28, 1) and y.shape == (100,)
