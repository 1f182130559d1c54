"""The Keras-to-PyTorch copy that the reference benchmarks attack computes our models' logits.

Optional: needs PyTorch (`pip install -e .[crosscheck]`). A benchmark against
the reference implementation compares attacks only if both attack the same
function, so the copy must agree within `TOLERANCE` (1e-5) on real images.
"""

import pathlib

import keras
import numpy as np
import pytest

from tfrobust import saving

torch = pytest.importorskip("torch")

from benchmarks.torch_copy import TOLERANCE  # noqa: E402  (after the skip)
from benchmarks.torch_copy import max_logit_difference  # noqa: E402  (after the skip)
from benchmarks.torch_copy import nchw  # noqa: E402  (after the skip)
from benchmarks.torch_copy import nhwc  # noqa: E402  (after the skip)
from benchmarks.torch_copy import torch_copy  # noqa: E402  (after the skip)

ZOO = pathlib.Path(__file__).resolve().parents[2] / "models"


@pytest.mark.parametrize(
    "entry, shape",
    [
        (
            "cifar10/resnet20-fast_at",
            (32, 32, 3),
        ),  # asymmetric 'same' padding, BN, zero-pad shortcut
        ("mnist/lenet-pgd_at", (28, 28, 1)),  # max pooling, NHWC flatten, Dense
    ],
)
def test_zoo_models_agree_within_tolerance(entry, shape):
    model = saving.load_keras(ZOO / entry / "model.keras")
    x = np.random.default_rng(0).uniform(size=(16, *shape)).astype("float32")
    assert max_logit_difference(model, torch_copy(model), x) <= TOLERANCE


def test_sequential_model_with_batch_norm_statistics_agrees():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((12, 12, 2)),
            keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Flatten(),
            keras.layers.Dense(5),
        ]
    )
    norm = model.layers[1]
    rng = np.random.default_rng(1)
    norm.set_weights(
        [rng.uniform(0.5, 2, 4), rng.normal(size=4), rng.normal(size=4), rng.uniform(0.5, 2, 4)]
    )  # gamma, beta, moving mean and variance
    x = rng.uniform(size=(8, 12, 12, 2)).astype("float32")
    assert max_logit_difference(model, torch_copy(model), x) <= TOLERANCE


def test_copy_takes_nchw_and_has_no_trainable_parameters():
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    module = torch_copy(model)
    x = np.arange(32, dtype="float32").reshape(2, 4, 4, 1) / 32
    assert nchw(x).shape == (2, 1, 4, 4)
    np.testing.assert_array_equal(nhwc(nchw(x)), x)
    assert not module.training
    assert not any(p.requires_grad for p in module.parameters())


def test_unsupported_layer_is_refused_by_name():
    model = keras.Sequential(
        [
            keras.Input((4, 4, 1)),
            keras.layers.Conv2D(2, 3),
            keras.layers.LayerNormalization(name="layer_norm"),
        ]
    )
    with pytest.raises(NotImplementedError, match="layer_norm.*LayerNormalization"):
        torch_copy(model)
