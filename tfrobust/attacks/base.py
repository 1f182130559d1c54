"""What every attack shares: argument checks, the [0, 1] box, the compiled call.

An attack's maths lives in `perturb(forward, x, y)`, a pure function of a
`forward(x) -> logits` callable written with `keras.ops` and
`tfrobust.backend.value_and_grad`; its randomness comes from
`self.seed_generator`. The same `perturb` therefore runs inside a compiled
training step (adversarial training) and behind `attack(model, x, y)`, which
compiles it once per model with `tfrobust.backend.compile_model_fn`.
"""

import copy
import math
import weakref

import keras
import numpy as np

from tfrobust import backend
from tfrobust import validation
from tfrobust.attacks import batching

NORMS = ("linf", "l2")


def check_eps(eps, norm):
    """Reject budgets outside the [0, 1] pixel scale with a message saying why."""
    if norm not in NORMS:
        raise ValueError(f"`norm` must be one of {NORMS}. Received: norm={norm!r}")
    if not isinstance(eps, (int, float)) or not math.isfinite(eps) or eps < 0:
        raise ValueError(f"`eps` must be a finite number >= 0. Received: eps={eps!r}")
    if norm == "linf" and eps > 1:
        raise ValueError(
            "`eps` is in the [0, 1] pixel scale (8/255, not 8); an L-inf budget "
            f"above 1 means nothing. Received: eps={eps!r}"
        )
    return float(eps)


class Attack:
    """Base class: validated threat model, seed generator, compiled `__call__`.

    Args:
        eps: perturbation budget in the [0, 1] pixel scale.
        norm: `"linf"` or `"l2"`.
        seed: integer seed of the attack's `keras.random.SeedGenerator`.
    """

    def __init__(self, eps, norm="linf", seed=None):
        self.norm = norm
        self.eps = check_eps(eps, norm)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self._compiled = weakref.WeakKeyDictionary()

    def perturb(self, forward, x, y):
        """Return adversarial images for `forward`; subclasses implement this."""
        raise NotImplementedError

    def __call__(self, model, x, y):
        """Attack `model` (a Keras model taking [0, 1] images) on a batch.

        The batch is padded to one of a few sizes (`batching.padded_size`), so
        a new number of images rarely means a new compilation.
        """
        x, y = validation.check_batch(model, x, y)
        n = len(x)
        if model not in self._compiled:
            self._compiled[model] = backend.compile_model_fn(
                model, self.perturb, state=[self.seed_generator.state]
            )
        rows = batching.pad_index(np.arange(n))
        x_adv = self._compiled[model](keras.ops.convert_to_tensor(x[rows]),
                                      keras.ops.convert_to_tensor(y[rows].astype("int32")))
        return x_adv[:n]

    def with_loss(self, loss_fn):
        """A copy that ascends `loss_fn(logits, target)` instead of its own loss.

        Objectives whose inner maximisation is not the attack's loss (TRADES
        maximises a KL divergence to the clean prediction) train with such a
        copy; `self` is left unchanged.
        """
        if not hasattr(self, "loss_fn"):
            raise TypeError(f"{type(self).__name__} has no loss to replace")
        clone = copy.copy(self)
        clone.loss_fn = loss_fn
        clone._compiled = weakref.WeakKeyDictionary()
        return clone

    def scaled(self, fraction):
        """A copy whose budget and step size are `fraction` of this one's.

        It shares this attack's seed generator; a budget warm-up
        (`training.EpsilonWarmup`) trains with such copies.
        """
        if not 0 < fraction <= 1:
            raise ValueError(f"`fraction` must be in (0, 1]. Received: fraction={fraction!r}")
        clone = copy.copy(self)
        clone.eps = self.eps * fraction
        if getattr(self, "step_size", None) is not None:
            clone.step_size = self.step_size * fraction
        clone._compiled = weakref.WeakKeyDictionary()
        return clone

    def get_config(self):
        return {"eps": self.eps, "norm": self.norm}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
