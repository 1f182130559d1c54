"""Expectation over Transformation (Athalye et al. 2018): attacks on randomised models.

A model that draws noise at inference (random resizing, dropout, noisy
activations) gives a different gradient at every query; one draw's gradient
is a poor ascent direction and a plain attack overestimates robustness. EOT
ascends the expected loss instead, estimated by the mean over `samples`
draws, whose gradient is the mean gradient (AutoAttack's `rand` version:
APGD with `eot_iter = 20`).

Each draw needs a fresh forward pass with fresh noise: TensorFlow's compiled
attacks advance the model's seed generators between passes. JAX's run the
model statelessly (`backend.compile_model_fn`), so every pass of one call
sees the same draw; `tfrobust.evaluation` refuses a randomised model there.
"""

from keras import ops

from tfrobust.argument_validation import check_int
from tfrobust.attacks.pgd import PGD


def expected_loss(forward, z, loss_fn, samples):
    """`(logits of the first draw, mean per-example loss over `samples` draws)` at `z`."""
    logits = forward(z)
    first = loss_fn(logits)
    if samples == 1:
        return logits, first
    total = ops.fori_loop(1, samples, lambda _, acc: acc + loss_fn(forward(z)), first)
    return logits, total / samples


class EOTPGD(PGD):
    """PGD whose every step follows the mean gradient over `samples` random draws.

    Args:
        samples: forward/backward passes averaged per step (20 in AutoAttack's
            `rand` version).
        eps, step_size, steps, norm, restarts, loss, random_start, targeted,
            seed, unroll: as `PGD`.

    Example:
        >>> x_adv = EOTPGD(eps=8 / 255, steps=20, samples=20)(model, x, y)  # doctest: +SKIP

    Reference:
        Athalye, Carlini, Wagner, "Obfuscated Gradients Give a False Sense of
        Security", ICML 2018, Sec. 4.3.
    """

    def __init__(self, eps=8 / 255, step_size=2 / 255, steps=20, samples=20, **kwargs):
        super().__init__(eps, step_size=step_size, steps=steps, **kwargs)
        self.samples = check_int("samples", samples)

    def logits_and_loss(self, forward, z, y):
        return expected_loss(forward, z, lambda logits: self.loss_fn(logits, y), self.samples)

    def get_config(self):
        return {**super().get_config(), "samples": self.samples}
