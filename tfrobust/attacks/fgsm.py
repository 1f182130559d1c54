"""FGSM (Goodfellow et al. 2015) and its random-start variant (Wong et al. 2020)."""

import keras
from keras import ops

from tfrobust import backend
from tfrobust.attacks.base import Attack
from tfrobust.attacks.losses import cross_entropy


class FGSM(Attack):
    """One signed-gradient step of size `step_size` (default `eps`), L-inf.

    Args:
        eps: L-inf budget in the [0, 1] pixel scale.
        random_start: start from a uniform point in the eps-ball (FGSM-RS).
        step_size: step length; Wong et al. use 1.25 * eps with random start.
        seed: seed of the random start.
        norm: `"linf"`, the only norm of FGSM (`get_config` records it).

    Example:
        >>> x_adv = FGSM(eps=8 / 255)(model, x, y)  # doctest: +SKIP
    """

    norms = ("linf",)

    def __init__(self, eps, random_start=False, step_size=None, seed=None, norm="linf", **kwargs):
        super().__init__(eps, norm=norm, seed=seed, **kwargs)
        self.random_start = random_start
        self.step_size = self.eps if step_size is None else float(step_size)
        self.loss_fn = cross_entropy

    def perturb(self, forward, x, y):
        x_start = x
        if self.random_start:
            noise = keras.random.uniform(
                ops.shape(x), -self.eps, self.eps, seed=self.seed_generator
            )
            x_start = ops.clip(x + noise, 0.0, 1.0)
        _, grad = backend.value_and_grad(lambda z: ops.sum(self.loss_fn(forward(z), y)), x_start)
        x_adv = x_start + self.step_size * ops.sign(grad)
        x_adv = ops.clip(x_adv, x - self.eps, x + self.eps)
        return ops.stop_gradient(ops.clip(x_adv, 0.0, 1.0))

    def get_config(self):
        return {
            **super().get_config(),
            "random_start": self.random_start,
            "step_size": self.step_size,
        }
