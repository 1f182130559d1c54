"""Read a recipe file, apply a scale and `--set` overrides, validate everything."""

import copy
import pathlib

import yaml

from tfrobust.recipes import registry
from tfrobust.recipes.schema import Recipe
from tfrobust.recipes.validation import RecipeError
from tfrobust.recipes.validation import from_dict
from tfrobust.registry import suggest


def set_dotted(data, dotted_key, value):
    """`data["a"]["b"] = value` for "a.b", creating mappings on the way."""
    *parents, last = dotted_key.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
        if node is None or not isinstance(node, dict):
            raise RecipeError(f"{dotted_key}: {part!r} is not a mapping")
    node[last] = value


def parse_override(text):
    """`key=value` from the command line; the value is read as YAML (3, 0.1, true, [1, 2])."""
    if "=" not in text:
        raise RecipeError(f"--set expects key=value. Received: {text!r}")
    key, value = text.split("=", 1)
    return key.strip(), yaml.safe_load(value)


def apply_scale(data, scale):
    scales = data.get("scales") or {}
    if scale not in scales:
        raise RecipeError(
            f"unknown scale {scale!r}{suggest(scale, scales)}. "
            f"This recipe has: {', '.join(scales) or 'none'}"
        )
    for key, value in scales[scale].items():
        set_dotted(data, key, value)


def validate(recipe):
    """Checks that need the library: names of dataset, architecture, stages, components."""
    from tfrobust import architectures
    from tfrobust import evaluation
    from tfrobust.architectures.registry import ARCHITECTURES
    from tfrobust.data.registry import DATASETS

    registry.lookup(DATASETS, recipe.dataset.name, "dataset.name")
    registry.lookup(ARCHITECTURES, recipe.model.architecture, "model.architecture")
    stages = architectures.insertion_points(recipe.model.architecture)  # stages, block points
    for stage, layer in recipe.model.insert.items():
        if stage not in stages:
            raise RecipeError(
                f"model.insert: {recipe.model.architecture} has no stage {stage!r}"
                f"{suggest(stage, stages)}. Stages: {', '.join(stages)}"
            )
        cls = registry.resolve(registry.LAYERS, layer.layer, f"model.insert.{stage}.layer")
        registry.check_args(
            cls, layer.args, f"model.insert.{stage}.args", skip=registry.LAYER_CONTEXT
        )
    config = recipe.evaluation
    for name in [*config.attacks, *config.attack_kwargs]:
        if "attack" not in config.attack_kwargs.get(name, {}):  # else a new name for one
            registry.lookup(
                evaluation.registry.ATTACKS,
                name,
                "evaluation.attacks",
                hint="; a new name needs `attack: NAME` in evaluation.attack_kwargs",
            )
    try:
        evaluation.build_attacks(
            list(config.attacks), config.eps, config.norm, 0, config.attack_kwargs
        )
    except ValueError as error:
        raise RecipeError(f"evaluation.attack_kwargs: {error}") from None
    objective = registry.instantiate(registry.OBJECTIVES, recipe.objective, "objective")
    if recipe.attack is not None:
        registry.instantiate(registry.ATTACKS, recipe.attack, "attack")
    elif objective.needs_adversarial:
        raise RecipeError(
            f"attack: objective {recipe.objective.name!r} trains on adversarial "
            "examples and needs an attack"
        )


def load_recipe(path, scale=None, overrides=()):
    """A validated `Recipe` from a YAML file; raises `RecipeError` before any training."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise RecipeError(f"no recipe file at {path}")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe is a YAML mapping")
    data = copy.deepcopy(data)
    if scale is not None:
        apply_scale(data, scale)
    for override in overrides:
        set_dotted(data, *parse_override(override) if isinstance(override, str) else override)
    try:
        recipe = from_dict(Recipe, data)
        validate(recipe)
    except RecipeError as error:
        raise RecipeError(f"{path}: {error}") from None
    return recipe
