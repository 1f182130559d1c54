"""Validation during training comes from a seeded hold-out of the training split."""

import pathlib

import numpy as np
import pytest

from tfrobust import data
from tfrobust.data.epochs import holdout
from tfrobust.recipes import build
from tfrobust.recipes import load_recipe

RECIPES = pathlib.Path(__file__).resolve().parents[2] / "recipes"


def test_holdout_is_seeded_disjoint_and_complete():
    train, val = holdout(100, 20, seed=3)
    assert len(val) == 20 and not set(train) & set(val)
    assert sorted([*train, *val]) == list(range(100))
    np.testing.assert_array_equal(holdout(100, 20, seed=3)[1], val)
    assert not np.array_equal(holdout(100, 20, seed=4)[1], val)


@pytest.mark.jax
def test_recipe_validation_images_are_training_images_not_test_images():
    recipe = load_recipe(
        RECIPES / "pgd_at_mnist_lenet.yaml",
        scale="cpu",
        overrides=[
            f"dataset.data_dir={data.SAMPLE_DIR}",
            "dataset.validation.n=32",
            "dataset.n_train=64",
            "training.epochs=1",
            "training.batch_size=32",
        ],
    )
    train_images = data.load_uint8("mnist", "train", data.SAMPLE_DIR)[0]
    test_images = data.load_uint8("mnist", "test", data.SAMPLE_DIR)[0]
    train, validation = build.datasets(recipe)
    val = np.concatenate([x for x, _ in validation.as_numpy_iterator()])
    seen = np.concatenate([x for x, _ in train.as_numpy_iterator()])
    as_bytes = lambda images: {np.round(im * 255).astype("uint8").tobytes() for im in images}  # noqa: E731
    train_set = {im.tobytes() for im in train_images}
    assert len(val) == 32 and as_bytes(val) <= train_set
    assert not as_bytes(val) & {im.tobytes() for im in test_images}
    assert not as_bytes(val) & as_bytes(seen)  # held out of what is trained on
