"""Training: `adversarial(model, objective, attack)` gives a model whose `fit` is adversarial.

Build it under the strategy `tfrobust.backend.make_strategy` picks to train on
several devices or workers (TensorFlow).
"""

from tfrobust.training.adversarial_model import AdversarialModel
from tfrobust.training.adversarial_model import adversarial
from tfrobust.training.eps_warmup import EpsilonWarmup
from tfrobust.training.l2_sgd import L2SGD

__all__ = ["AdversarialModel", "EpsilonWarmup", "L2SGD", "adversarial"]
