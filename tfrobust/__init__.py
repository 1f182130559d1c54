"""tfrobust: adversarially robust image classifiers for Keras 3.

Submodules load on first use, so `import tfrobust` stays cheap:

    >>> import tfrobust
    >>> model = tfrobust.architectures.get("resnet20", width=0.25)
    >>> robust = tfrobust.adversarial(model, tfrobust.objectives.TRADES(),
    ...                               tfrobust.attacks.PGD(eps=8 / 255))
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "architectures",
    "attacks",
    "backend",
    "cli",
    "data",
    "evaluation",
    "layers",
    "objectives",
    "recipes",
    "saliency",
    "training",
    "zoo",
)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"tfrobust.{name}")
    if name == "adversarial":
        return importlib.import_module("tfrobust.training").adversarial
    raise AttributeError(f"module 'tfrobust' has no attribute {name!r}")
