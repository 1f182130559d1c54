"""`training.dtype_policy`: a recipe trains in mixed precision; the process keeps its policy."""

import pathlib

import keras
import numpy as np
import tensorflow as tf

from tfrobust import data
from tfrobust.recipes import build
from tfrobust.recipes import load_recipe
from tfrobust.recipes import run

RECIPE = pathlib.Path(__file__).resolve().parents[2] / "recipes" / "pgd_at_mnist_lenet.yaml"


def tiny(policy):
    return load_recipe(
        RECIPE,
        scale="cpu",
        overrides=[
            f"dataset.data_dir={data.SAMPLE_DIR}",
            "dataset.n_train=64",
            "dataset.validation.n=32",
            "training.epochs=1",
            "training.batch_size=32",
            "attack.args.steps=1",
            f"training.dtype_policy={policy}",
        ],
    )


def test_a_mixed_bfloat16_recipe_trains_and_saves_a_bfloat16_network(tmp_path):
    classifier = run.fit(tiny("mixed_bfloat16"), tmp_path, tf.distribute.get_strategy(), verbose=0)
    assert keras.config.dtype_policy().name == "float32"  # the process's policy is back
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    for model in (classifier, loaded):
        convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
        assert convs and all(c.dtype_policy.name == "mixed_bfloat16" for c in convs)
    x = np.zeros((2, 28, 28, 1), "float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(classifier(x))
    )


def test_a_mixed_float16_trainer_scales_its_loss():
    """Keras wraps the optimizer only when the trainer itself is built under the policy."""
    recipe = tiny("mixed_float16")
    with build.dtype_policy(recipe):
        robust = build.trainer(recipe, build.model(recipe))
        robust.compile(optimizer=build.optimizer(recipe))
    assert isinstance(robust.optimizer, keras.optimizers.LossScaleOptimizer)
    assert keras.config.dtype_policy().name == "float32"
