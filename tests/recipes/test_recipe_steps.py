"""Every recipe at CPU scale builds its model, objective and attack and trains one step.

Synthetic images of the dataset's shape stand in for the data (ImageNet and
others are not available offline); the point is that the recipe's components
fit together, so the step runs eagerly, and datasets with images larger than
64x64 (ImageNet, Flower-17) are built at 64x64: the same layers, a fraction of
the compute. Compiled training is tested in `tests/training`.
"""

import pathlib

import keras
import numpy as np
import pytest

from tfrobust import data
from tfrobust import saliency
from tfrobust.recipes import build
from tfrobust.recipes import load_recipe

RECIPES = sorted((pathlib.Path(__file__).resolve().parents[2] / "recipes").glob("*.yaml"))


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_cpu_scale_recipe_trains_one_step(path):
    # One step per epoch: a schedule over a full training set would count the images first.
    recipe = load_recipe(path, scale="cpu", overrides=[("training.steps_per_epoch", 1)])
    spec = data.get_spec(recipe.dataset.name)
    height, width, channels = spec.image_shape
    shape = (64, 64, channels) if max(height, width) > 64 else spec.image_shape
    keras.utils.set_random_seed(0)
    model = build.model(recipe, input_shape=shape)
    robust = build.trainer(recipe, model)
    # Eagerly: one step needs no compiled graph, and tracing ResNet-152 would take minutes.
    robust.compile(optimizer=build.optimizer(recipe), run_eagerly=True)
    rng = np.random.default_rng(0)
    x = rng.random((2, *shape), dtype=np.float32)
    y = rng.integers(0, spec.num_classes, 2)
    if recipe.saliency is not None and recipe.saliency.source != "online":  # SAT: maps in the data
        x = saliency.with_saliency(x, np.sign(rng.normal(size=(2, *shape[:2], 1))))
    history = robust.fit(x, y, batch_size=2, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])
