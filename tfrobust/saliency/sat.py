"""SAT in training: PGD-SAT, TRADES-SAT and plain SAT as `AdversarialModel`s.

In our API SAT is not an objective but an attack, `attacks.saliency_init.
SaliencyPGD` (PGD from the saliency initialisation), paired with an
existing objective: PGD-SAT is `PGDAT` with it, TRADES-SAT is `TRADES` with
it (the attack then ascends TRADES's KL term), plain SAT is `PGDAT` with
`steps=0`. What SAT adds to training is the schedule: the random fraction
alpha^t falls with the epoch t. `SATModel` keeps that fraction in its state
(the JAX train step reads variables only from there) and sets it at the
start of every epoch, so `fit` needs nothing more.

The paper's tables train from maps fixed before training: weak saliency
(boxes, masks) or a fixed pretrained model's maps, which
`saliency.precompute` (or, cached for a dataset, `saliency.cache.cached_maps`)
computes once; pass them with the images. Without maps the attack falls back
to the online saliency of the model being trained (`saliency="gradient"`,
the default), our variant; `saliency=None` makes missing maps an error.

    >>> maps = saliency.precompute("smoothgrad", standard_model, x, y)  # doctest: +SKIP
    >>> robust = sat.pgd_sat(model, eps=8 / 255, steps=5, saliency=None)  # doctest: +SKIP
    >>> robust.compile(optimizer="adam")  # doctest: +SKIP
    >>> robust.fit(saliency.with_saliency(x, maps), y, epochs=10)  # doctest: +SKIP
    >>> sat.pgd_sat(model, eps=8 / 255).fit(x, y, epochs=10)  # online variant  # doctest: +SKIP

In a recipe: a `saliency:` section (`tfrobust.recipes.schema.SaliencyConfig`).
"""

import keras

from tfrobust import objectives
from tfrobust.attacks.saliency_init import SaliencyPGD
from tfrobust.training import AdversarialModel


class SATSchedule(keras.callbacks.Callback):
    """Sets `attack.random_fraction` to alpha^epoch when each epoch begins.

    Args:
        attack: a `SaliencyPGD` (its `with_loss` copies share the variable).
    """

    def __init__(self, attack):
        super().__init__()
        if not isinstance(attack, SaliencyPGD):
            raise TypeError(f"SATSchedule needs a SaliencyPGD attack. Received: {attack!r}")
        self.attack = attack

    def on_train_begin(self, logs=None):
        if not any(v is self.attack.random_fraction for v in self.model.non_trainable_variables):
            raise ValueError(
                "The model does not track the attack's random fraction, so a compiled step "
                "would keep its first value; train with `sat.SATModel` (or `sat.pgd_sat`, "
                "`sat.trades_sat`), which does.")

    def on_epoch_begin(self, epoch, logs=None):
        self.attack.set_epoch(int(epoch))


class SATModel(AdversarialModel):
    """`AdversarialModel` with a `SaliencyPGD` attack whose alpha^t follows the epochs.

    Args:
        model: the Keras classifier to train.
        objective: a `tfrobust.objectives.Objective` (PGDAT, TRADES, ...).
        attack: a `tfrobust.attacks.saliency_init.SaliencyPGD`.

    Inputs are images (saliency computed online from the model being trained,
    as the attack's `saliency` says) or `{"image": x, "saliency": s}` with
    precomputed maps (`tfrobust.saliency.with_saliency`).
    """

    def __init__(self, model, objective, attack, **kwargs):
        if not isinstance(attack, SaliencyPGD):
            raise TypeError(f"SATModel needs a SaliencyPGD attack. Received: {attack!r}")
        super().__init__(model, objective, attack, **kwargs)
        # Tracked, so the train step reads alpha^t from the model's state.
        self.sat_random_fraction = attack.random_fraction

    def fit(self, *args, callbacks=None, **kwargs):
        callbacks = list(callbacks or [])
        if not any(isinstance(c, SATSchedule) for c in callbacks):
            callbacks.append(SATSchedule(self.attack))
        return super().fit(*args, callbacks=callbacks, **kwargs)


def pgd_sat(model, eps=8 / 255, step_size=2 / 255, steps=10, alpha=0.9, saliency="gradient",
            threshold=None, seed=None):
    """PGD-SAT: Madry et al.'s PGD-AT, PGD started from the saliency initialisation.

    Arguments after `model` are `SaliencyPGD`'s.
    """
    attack = SaliencyPGD(eps=eps, step_size=step_size, steps=steps, alpha=alpha,
                         saliency=saliency, threshold=threshold, seed=seed)
    return SATModel(model, objectives.PGDAT(), attack)


def trades_sat(model, beta=6.0, eps=8 / 255, step_size=2 / 255, steps=10, alpha=0.9,
               saliency="gradient", threshold=None, seed=None):
    """TRADES-SAT: TRADES whose inner maximisation starts from the saliency initialisation.

    The online saliency explains the clean predicted class (TRADES's attack
    target is the clean softmax). Other arguments are `SaliencyPGD`'s.
    """
    attack = SaliencyPGD(eps=eps, step_size=step_size, steps=steps, alpha=alpha,
                         saliency=saliency, threshold=threshold, seed=seed)
    return SATModel(model, objectives.TRADES(beta=beta), attack)


def plain_sat(model, eps=8 / 255, alpha=0.9, saliency="gradient", threshold=None, seed=None):
    """Plain SAT: cross-entropy on x + eps * delta, no PGD step (the paper's cheapest variant)."""
    attack = SaliencyPGD(eps=eps, steps=0, alpha=alpha, saliency=saliency,
                         threshold=threshold, seed=seed)
    return SATModel(model, objectives.PGDAT(), attack)
