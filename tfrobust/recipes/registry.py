"""Names a recipe may use for objectives, training attacks and defense layers.

Classes are looked up on first use, so a recipe can be validated without
importing every defense.
"""

import importlib
import inspect

from tfrobust.recipes.validation import RecipeError
from tfrobust.recipes.validation import fractions_to_numbers
from tfrobust.recipes.validation import suggest

OBJECTIVES = {
    "standard": "tfrobust.objectives:Standard",
    "pgd_at": "tfrobust.objectives:PGDAT",
    "trades": "tfrobust.objectives:TRADES",
    "mart": "tfrobust.objectives:MART",
    "alp": "tfrobust.objectives:ALP",
    "aalp": "tfrobust.objectives:AALP",
}
ATTACKS = {
    "fgsm": "tfrobust.attacks:FGSM",
    "pgd": "tfrobust.attacks:PGD",
    "pgd_random_target": "tfrobust.attacks.random_target:RandomTargetPGD",  # feature denoising
    "saliency_pgd": "tfrobust.attacks.saliency_init:SaliencyPGD",  # SAT
    "cifs_joint": "tfrobust.attacks.joint_loss:JointLossPGD",  # CIFS's training attack
}
LAYERS = {
    "fsr": "tfrobust.layers.fsr:FSR",
    "denoise": "tfrobust.layers.denoising:DenoisingBlock",
    "cifs": "tfrobust.layers.cifs:CIFS",
    "cas": "tfrobust.layers.cas:CAS",
}
# Filled in by the model builder from the architecture and the dataset, never by a recipe.
LAYER_CONTEXT = ("channels", "num_classes", "name")


def layer_factory(cls, args, num_classes):
    """An `insert` factory `(name, channels) -> layer` giving `cls` what its signature asks for."""
    wanted = inspect.signature(cls.__init__).parameters

    def factory(name, channels):
        context = {"channels": channels, "num_classes": num_classes}
        return cls(name=name, **{k: v for k, v in context.items() if k in wanted},
                   **fractions_to_numbers(args))

    return factory


def resolve(kind, registry, name, path):
    """The class registered as `name`, or an error listing the valid names."""
    if name not in registry:
        raise RecipeError(f"{path}: unknown {kind} {name!r}{suggest(name, registry)}. "
                          f"Valid: {', '.join(sorted(registry))}")
    module, attribute = registry[name].split(":")
    return getattr(importlib.import_module(module), attribute)


def check_args(cls, args, path, skip=()):
    """Reject constructor arguments that `cls` does not take, with a suggestion."""
    parameters = inspect.signature(cls.__init__).parameters
    valid = [p for p in parameters if p not in ("self", "args", "kwargs", *skip)]
    for key in args:
        if key not in valid:
            raise RecipeError(f"{path}: {cls.__name__} takes no argument {key!r}"
                              f"{suggest(key, valid)}. Valid: {', '.join(valid)}")


def instantiate(kind, registry, config, path, **fixed):
    """`cls(**config.args, **fixed)`, with the class's own errors prefixed by `path`."""
    cls = resolve(kind, registry, config.name, f"{path}.name")
    check_args(cls, config.args, f"{path}.args")
    try:
        return cls(**fractions_to_numbers(config.args), **fixed)
    except (TypeError, ValueError) as error:
        raise RecipeError(f"{path}.args: {error}") from error
