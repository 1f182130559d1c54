"""Training: `adversarial(model, objective, attack)` gives a model whose `fit` is adversarial,
and `make_strategy` the `tf.distribute` strategy to build it under."""

from tfrobust.training.adversarial_model import AdversarialModel
from tfrobust.training.adversarial_model import adversarial
from tfrobust.training.eps_warmup import EpsilonWarmup
from tfrobust.training.l2_sgd import L2SGD
from tfrobust.training.multi_worker import MultiWorkerFitMixin
from tfrobust.training.strategy import STRATEGIES
from tfrobust.training.strategy import make_strategy
from tfrobust.training.strategy import resolve_strategy_name

__all__ = ["AdversarialModel", "EpsilonWarmup", "L2SGD", "MultiWorkerFitMixin", "STRATEGIES", "adversarial",
           "make_strategy", "resolve_strategy_name"]
