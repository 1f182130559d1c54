"""What every attack shares: argument checks, the [0, 1] box, the compiled call.

An attack's maths lives in `perturb(forward, x, y)`, a pure function of a
`forward(x) -> logits` callable written with `keras.ops` and
`tfrobust.backend.value_and_grad`; its randomness comes from
`self.seed_generator`. The same `perturb` therefore runs inside a compiled
training step (adversarial training) and behind `attack(model, x, y)`, which
compiles it once per model with `tfrobust.backend.compile_model_fn`.
"""

import copy
import weakref

import keras
import numpy as np

from tfrobust import backend
from tfrobust import validation
from tfrobust.argument_validation import check_eps
from tfrobust.argument_validation import check_number
from tfrobust.attacks import batching


class Attack:
    """Base class: validated threat model, seed generator, compiled `__call__`.

    Args:
        eps: perturbation budget in the [0, 1] pixel scale.
        norm: `"linf"` or `"l2"`; `"l1"` for the attacks whose `norms` list it
            (APGD, APGD-T, FAB, FAB-T, Square).
        seed: integer seed of the attack's `keras.random.SeedGenerator`.
        name: the attack's name in reports (default: its class name in
            lower case; `tfrobust.evaluation.make_attack` passes the name
            it was asked for).

    `get_config()` returns the settings, without `seed` and `name`, and
    `from_config(config)` builds an attack from them, as Keras layers do.
    """

    # The norms a subclass supports. L1 needs its own steepest-ascent step and
    # random start (APGD's sparse step), so an attack opts in to it.
    norms = ("linf", "l2")

    def __init__(self, eps, norm="linf", seed=None, name=None):
        self.eps = check_eps(eps, norm)
        if norm not in self.norms:
            raise ValueError(
                f"{type(self).__name__} supports `norm` in {self.norms}. Received: norm={norm!r}"
            )
        self.norm = norm
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.name = name or type(self).__name__.lower()
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
        x_adv = self._compiled[model](
            keras.ops.convert_to_tensor(x[rows]),
            keras.ops.convert_to_tensor(y[rows].astype("int32")),
        )
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
        check_number("fraction", fraction, minimum=0, maximum=1, exclusive_minimum=True)
        clone = copy.copy(self)
        clone.eps = self.eps * fraction
        if getattr(self, "step_size", None) is not None:
            clone.step_size = self.step_size * fraction
        clone._compiled = weakref.WeakKeyDictionary()
        return clone

    def training_callbacks(self):
        """Keras callbacks that `AdversarialModel.fit` adds when training against this attack.

        None by default. An attack whose state follows the training epochs
        (SAT's alpha^t, `saliency_init.SATSchedule`) returns the callback that
        sets it, so no training run can leave it unscheduled.
        """
        return []

    def with_eps(self, eps, seed=None):
        """A new attack with this one's settings and name at budget `eps`, seeded by `seed`.

        Settings are kept as they are, absolute step sizes included; the
        registry (`tfrobust.evaluation.make_attack`) rebuilds attacks whose
        step is a fraction of the budget.
        """
        return type(self).from_config(
            {**self.get_config(), "eps": eps, "seed": seed, "name": self.name}
        )

    def get_config(self):
        return {"eps": self.eps, "norm": self.norm}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
