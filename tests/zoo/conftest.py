"""A small zoo written the way `tfrobust train` writes one."""

import keras
import pytest

from tfrobust import architectures
from tfrobust import data
from tfrobust import evaluation
from tfrobust.recipes import load_recipe
from tfrobust.recipes import run


@pytest.fixture(scope="session")
def zoo_root(tmp_path_factory, request):
    """`<root>/mnist/lenet-pgd_at/` from an (untrained) LeNet and a real small evaluation."""
    root = tmp_path_factory.mktemp("models")
    recipe_path = request.config.rootpath / "recipes" / "pgd_at_mnist_lenet.yaml"
    recipe = load_recipe(recipe_path, overrides=["evaluation.n=20", "evaluation.attacks=[pgd]"])
    keras.utils.set_random_seed(0)
    model = architectures.get("lenet", num_classes=10, input_shape=(28, 28, 1))
    x, y = data.load_numpy("mnist", "test", data.SAMPLE_DIR, n=20)
    summary = evaluation.evaluate(
        model, (x, y), attacks=["pgd"], eps=0.3, n=20, model_name=recipe.name, dataset_name="mnist"
    )
    run.save_model(model, root / recipe.name / "model.keras")
    run.write_entry(root / recipe.name, recipe, summary, "tfrobust train ...")
    return root


@pytest.fixture
def http_server(tmp_path, local_server):
    """Serves `tmp_path` on 127.0.0.1 (a free port) while the test runs."""
    with local_server(tmp_path) as url:
        yield tmp_path, url
