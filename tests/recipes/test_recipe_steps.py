"""Every recipe at CPU scale builds its model, objective and attack and trains one step.

Synthetic images of the dataset's shape stand in for the data (ImageNet and
others are not available offline); the point is that the recipe's components
fit together. Resolution-heavy datasets are trained at a reduced input size.
"""

import pathlib

import keras
import numpy as np
import pytest

from tfrobust import data
from tfrobust.recipes import build
from tfrobust.recipes import load_recipe
from tfrobust.training import adversarial

RECIPES = sorted((pathlib.Path(__file__).resolve().parents[2] / "recipes").glob("*.yaml"))


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_cpu_scale_recipe_trains_one_step(path):
    recipe = load_recipe(path, scale="cpu")
    keras.utils.set_random_seed(0)
    model = build.model(recipe)
    robust = adversarial(model, build.objective(recipe), build.attack(recipe))
    robust.compile(optimizer=build.optimizer(recipe))
    spec = data.get_spec(recipe.dataset.name)
    rng = np.random.default_rng(0)
    x = rng.random((2, *spec.image_shape), dtype=np.float32)
    y = rng.integers(0, spec.num_classes, 2)
    history = robust.fit(x, y, batch_size=2, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])
