"""Recipes: every file validates; bad values are clear errors before any training."""

import inspect
import pathlib

import pytest
import yaml

from tfrobust.recipes import RecipeError
from tfrobust.recipes import load_recipe
from tfrobust.recipes import registry

FOLDER = pathlib.Path(__file__).resolve().parents[2] / "recipes"
RECIPES = sorted(FOLDER.glob("*.yaml"))
DRAFTS = sorted((FOLDER / "drafts").glob("*.yaml"))  # no paper number yet: see its README


@pytest.mark.parametrize("path", RECIPES + DRAFTS, ids=lambda p: p.parent.name + "/" + p.stem)
def test_every_recipe_validates_at_paper_and_every_scale(path):
    paper = load_recipe(path)
    for scale in paper.scales:
        scaled = load_recipe(path, scale=scale)
        assert paper.evaluation.n >= scaled.evaluation.n, scale
    assert "/" in paper.name
    # The CPU scale trains the same method on the same data; a smaller network may say so in
    # its zoo ID (cifar10/resnet18_w0.25-fsr-pgd_at), never another dataset or defense.
    dataset, method = paper.name.split("/")[0], paper.name.split("-", 1)[1]
    cpu = load_recipe(path, scale="cpu")
    assert (cpu.name.split("/")[0], cpu.name.split("-", 1)[1]) == (dataset, method)
    if path in RECIPES:
        assert paper.reported, "a recipe states the numbers the paper reports"


@pytest.mark.parametrize(
    "components, name",
    [
        (components, name)
        for components in (registry.OBJECTIVES, registry.ATTACKS, registry.LAYERS)
        for name in components.list()
    ],
    ids=lambda value: getattr(value, "kind", value),
)
def test_every_registered_component_is_a_class(components, name):
    assert inspect.isclass(registry.resolve(components, name, components.kind))


@pytest.fixture
def recipe_file(tmp_path):
    def write(**changes):
        data = yaml.safe_load(RECIPES[0].read_text())
        for key, value in changes.items():
            node = data
            *parents, last = key.split("__")
            for part in parents:
                node = node[part]
            node[last] = value
        path = tmp_path / "recipe.yaml"
        path.write_text(yaml.safe_dump(data))
        return path

    return write


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"training__epocs": 3}, "training: unknown key 'epocs' (did you mean 'epochs'?)"),
        ({"training__epochs": "ten"}, "training.epochs: expected an integer. Received: 'ten'"),
        ({"evaluation__eps": 8}, "evaluation.eps: an L-inf budget is in the [0, 1] pixel scale"),
        ({"evaluation__eps": "8/255"}, None),
        (
            {"dataset__name": "cifar11"},
            "dataset.name: Unknown dataset 'cifar11' (did you mean 'cifar10'?)",
        ),
        (
            {"model__architecture": "resnet19"},
            "model.architecture: Unknown architecture 'resnet19'",
        ),
        (
            {"objective__name": "trade"},
            "objective.name: Unknown objective 'trade' (did you mean 'trades'?)",
        ),
        (
            {"evaluation__attacks": ["autoatack"]},
            "evaluation.attacks: Unknown attack 'autoatack' (did you mean 'autoattack'?)",
        ),
        ({"training__optimizer__learning_rate": -1}, "learning_rate: must be > 0"),
        (
            {"evaluation__curve_attacks": ["square"]},
            "evaluation.curve_attacks: must name attacks of evaluation.attacks",
        ),
        (
            {"training__dtype_policy": "bfloat16"},
            "training.dtype_policy: one of float32, mixed_bfloat16, mixed_float16",
        ),
    ],
)
def test_bad_values_name_the_key(recipe_file, changes, message):
    path = recipe_file(**changes)
    if message is None:
        assert load_recipe(path).evaluation.eps == pytest.approx(8 / 255)
        return
    with pytest.raises(RecipeError) as error:
        load_recipe(path)
    assert message in str(error.value)


def test_attack_arguments_are_checked_against_the_attack(recipe_file):
    with pytest.raises(
        RecipeError, match=r"PGD takes no argument 'stpes' \(did you mean 'steps'\?\)"
    ):
        load_recipe(recipe_file(), overrides=["attack.args.stpes=3"])
    with pytest.raises(RecipeError, match="attack.args: `eps` is in the"):
        load_recipe(recipe_file(), overrides=["attack.args.eps=8"])


def test_overrides_and_scales(recipe_file):
    recipe = load_recipe(
        recipe_file(), scale="cpu", overrides=["training.epochs=7", "evaluation.attacks=[pgd]"]
    )
    assert recipe.training.epochs == 7 and recipe.evaluation.attacks == ["pgd"]
    with pytest.raises(RecipeError, match="unknown scale 'gpu'"):
        load_recipe(recipe_file(), scale="gpu")
    with pytest.raises(RecipeError, match="--set expects key=value"):
        load_recipe(recipe_file(), overrides=["training.epochs"])


def test_missing_required_key(recipe_file, tmp_path):
    data = yaml.safe_load(RECIPES[0].read_text())
    del data["training"]
    path = tmp_path / "missing.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(RecipeError, match="training: required key is missing"):
        load_recipe(path)
