"""Training: `adversarial(model, objective, attack)` gives a model whose `fit` is adversarial."""

from tfrobust.training.adversarial_model import AdversarialModel
from tfrobust.training.adversarial_model import adversarial

__all__ = ["AdversarialModel", "adversarial"]
