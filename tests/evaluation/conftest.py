"""The published robust MNIST model and the bundled MNIST test sample: no download, no training.

`mnist/lenet-pgd_at` is the zoo's PGD-AT LeNet (L-inf 0.3), loaded from `models/`
of the checkout; the 500 test images are the package's sample (the first of the
full test split), so these tests run on a clean clone without `../shared`.
"""

import pytest

from tfrobust import data
from tfrobust import zoo

ROBUST_MODEL = "mnist/lenet-pgd_at"


@pytest.fixture(scope="session")
def mnist_test():
    return data.load_numpy("mnist", "test", data.SAMPLE_DIR)


@pytest.fixture(scope="session")
def robust_mnist_model():
    """The zoo's PGD-AT LeNet; `train_eps` is the budget it was trained and published at."""
    model = zoo.load_model(ROBUST_MODEL)
    model.train_eps = zoo.find_entries()[ROBUST_MODEL].eps
    return model
