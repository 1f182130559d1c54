"""Names a recipe may use for objectives, training attacks and defense layers.

Each registry holds `"module:Class"` paths: classes are looked up on first
use, so a recipe can be validated without importing every defense. A training
attack is its class, built with the absolute step a paper trains with; the
evaluation's attack names (`tfrobust.evaluation.list_attacks()`) are factories
whose step scales with the budget, so that an evaluation can re-build them at
other budgets.
"""

import importlib
import inspect

from tfrobust.recipes.validation import RecipeError
from tfrobust.recipes.validation import fractions_to_numbers
from tfrobust.registry import Registry
from tfrobust.registry import suggest

OBJECTIVES = Registry("objective")
OBJECTIVES.register("standard", "tfrobust.objectives:Standard")
OBJECTIVES.register("pgd_at", "tfrobust.objectives:PGDAT")
OBJECTIVES.register("trades", "tfrobust.objectives:TRADES")
OBJECTIVES.register("mart", "tfrobust.objectives:MART")
OBJECTIVES.register("alp", "tfrobust.objectives:ALP")
OBJECTIVES.register("aalp", "tfrobust.objectives:AALP")
ATTACKS = Registry("attack")
ATTACKS.register("fgsm", "tfrobust.attacks:FGSM")
ATTACKS.register("pgd", "tfrobust.attacks:PGD")
ATTACKS.register(
    "pgd_random_target",  # feature denoising
    "tfrobust.attacks.random_target:RandomTargetPGD",
)
ATTACKS.register("saliency_pgd", "tfrobust.attacks.saliency_init:SaliencyPGD")  # SAT
ATTACKS.register(
    "cifs_joint",  # CIFS's training attack
    "tfrobust.attacks.joint_loss:JointLossPGD",
)
LAYERS = Registry("layer")
LAYERS.register("fsr", "tfrobust.layers.fsr:FSR")
LAYERS.register("denoise", "tfrobust.layers.denoising:DenoisingBlock")
LAYERS.register("cifs", "tfrobust.layers.cifs:CIFS")
LAYERS.register("cas", "tfrobust.layers.cas:CAS")
# Filled in by the model builder from the architecture and the dataset, never by a recipe.
LAYER_CONTEXT = ("channels", "num_classes", "name")


def layer_factory(cls, args, num_classes):
    """An `insert` factory `(name, channels) -> layer` giving `cls` what its signature asks for."""
    wanted = inspect.signature(cls.__init__).parameters

    def factory(name, channels):
        context = {"channels": channels, "num_classes": num_classes}
        return cls(
            name=name,
            **{k: v for k, v in context.items() if k in wanted},
            **fractions_to_numbers(args),
        )

    return factory


def lookup(registry, name, path, hint=""):
    """`registry.get(name)`, its unknown-name error a `RecipeError` at `path`, then `hint`."""
    try:
        return registry.get(name)
    except ValueError as error:
        raise RecipeError(f"{path}: {error}{hint}") from None


def resolve(registry, name, path):
    """The class registered as `name`, or an error listing the valid names."""
    module, attribute = lookup(registry, name, path).split(":")
    return getattr(importlib.import_module(module), attribute)


def check_args(cls, args, path, skip=()):
    """Reject constructor arguments that `cls` does not take, with a suggestion."""
    parameters = inspect.signature(cls.__init__).parameters
    valid = [p for p in parameters if p not in ("self", "args", "kwargs", *skip)]
    for key in args:
        if key not in valid:
            raise RecipeError(
                f"{path}: {cls.__name__} takes no argument {key!r}"
                f"{suggest(key, valid)}. Valid: {', '.join(valid)}"
            )


def instantiate(registry, config, path, **fixed):
    """`cls(**config.args, **fixed)`, with the class's own errors prefixed by `path`."""
    cls = resolve(registry, config.name, f"{path}.name")
    check_args(cls, config.args, f"{path}.args")
    try:
        return cls(**fractions_to_numbers(config.args), **fixed)
    except (TypeError, ValueError) as error:
        raise RecipeError(f"{path}.args: {error}") from error
