"""Projected Gradient Descent (Madry et al. 2018), L-inf and L2, with restarts."""

import math

import keras
from keras import ops

from tfrobust import backend
from tfrobust.argument_validation import check_choice
from tfrobust.argument_validation import check_int
from tfrobust.argument_validation import check_number
from tfrobust.attacks import loops
from tfrobust.attacks import losses
from tfrobust.attacks import projections
from tfrobust.attacks import selection
from tfrobust.attacks.base import Attack

# TRADES's and MART's reference code start their training attack at
# x + 0.001 * N(0, I) rather than at a uniform point of the ball.
NORMAL_START_STD = 0.001
STARTS = (True, False, "uniform", "normal")


def normal_start(x, eps, norm, seed):
    """`x + 0.001 * N(0, I)` (TRADES, MART), projected into the ball and [0, 1]."""
    delta = NORMAL_START_STD * keras.random.normal(ops.shape(x), seed=seed)
    return projections.project(x + delta, x, eps, norm)


def uniform_ball(x, eps, norm, seed):
    """A point drawn uniformly from the `norm` ball of radius `eps` around `x`, in [0, 1]."""
    shape = ops.shape(x)
    if norm == "linf":
        delta = keras.random.uniform(shape, -eps, eps, seed=seed)
    else:
        # Uniform direction, radius eps * U^(1/d): uniform in volume.
        d = math.prod(x.shape[1:])
        direction = projections.l2_normalize(keras.random.normal(shape, seed=seed))
        radius = eps * keras.random.uniform((shape[0],), seed=seed) ** (1.0 / d)
        delta = direction * selection.per_example(radius, x)
    return ops.clip(x + delta, 0.0, 1.0)


class PGD(Attack):
    """Iterated steepest-ascent steps on a loss, projected back onto the eps-ball.

    Each restart runs `steps` steps from its own random start and returns its
    last iterate; across restarts the first successful example is kept, else
    the one with the highest loss (see `tfrobust.attacks.selection`).

    Args:
        eps: budget in the [0, 1] pixel scale.
        step_size: length of each step in the attack's norm.
        steps: number of gradient steps per restart.
        norm: `"linf"` (signed gradient) or `"l2"` (normalised gradient).
        restarts: independent random starts; needs `random_start=True` if > 1.
        loss: `"ce"` (cross-entropy), `"cw"` (margin max_{j!=y} z_j - z_y) or
            `"dlr"` (Croce & Hein 2020; targeted DLR when `targeted=True`).
        random_start: `True` or `"uniform"`: start from a uniform point of the
            ball instead of `x` (Madry et al.); `"normal"`: from
            `x + 0.001 * N(0, I)`, as TRADES's and MART's reference code;
            `False`: from `x`.
        targeted: if True, `y` passed to the call holds *target* classes and
            the attack succeeds when the model predicts them.
        seed: seed of the random starts.
        unroll: write the steps out as straight-line code instead of a
            compiled loop: as fast on both backends, slower to compile
            (`loops`).

    Example:
        >>> x_adv = PGD(eps=8 / 255, steps=20)(model, x, y)  # doctest: +SKIP
        >>> x_adv = PGD(eps=0.5, step_size=0.1, norm="l2", loss="dlr",
        ...             restarts=5)(model, x, y)  # doctest: +SKIP

    Reference:
        Madry et al., "Towards Deep Learning Models Resistant to Adversarial
        Attacks", ICLR 2018.
    """

    def __init__(
        self,
        eps=8 / 255,
        step_size=2 / 255,
        steps=20,
        norm="linf",
        restarts=1,
        loss="ce",
        random_start=True,
        targeted=False,
        seed=None,
        unroll=False,
        **kwargs,
    ):
        super().__init__(eps, norm=norm, seed=seed, **kwargs)
        self.step_size = check_number("step_size", step_size, minimum=0, exclusive_minimum=True)
        self.steps = check_int("steps", steps)
        self.restarts = check_int("restarts", restarts)
        check_choice("random_start", random_start, STARTS)
        if restarts > 1 and not random_start:
            raise ValueError(
                "Restarts without a random start repeat the same deterministic run. "
                f"Received: restarts={restarts}, random_start=False"
            )
        self.loss_fn = losses.get(loss, targeted)
        self.loss = loss
        self.random_start = "uniform" if random_start is True else random_start
        self.targeted = bool(targeted)
        self.unroll = bool(unroll)

    def starts(self, x):
        """The first iterate of each restart, stacked: `(restarts, *x.shape)`."""
        if not self.random_start:
            return ops.expand_dims(x, 0)
        start = uniform_ball if self.random_start == "uniform" else normal_start
        return ops.stack(
            [start(x, self.eps, self.norm, self.seed_generator) for _ in range(self.restarts)]
        )

    def logits_and_loss(self, forward, z, y):
        """`(logits, per-example loss)` at `z`: what each step ascends."""
        logits = forward(z)
        return logits, self.loss_fn(logits, y)

    def perturb(self, forward, x, y):
        starts = self.starts(x)

        def total_loss(z):
            return ops.sum(self.logits_and_loss(forward, z, y)[1])

        def step(_, x_adv):
            _, grad = backend.value_and_grad(total_loss, x_adv)
            x_adv = x_adv + self.step_size * projections.steepest_ascent(grad, self.norm)
            return projections.project(x_adv, x, self.eps, self.norm)

        def run(i):
            x_adv = loops.repeat(self.steps, step, ops.take(starts, i, axis=0), self.unroll)
            if self.restarts == 1:  # nothing to compare: skip the extra forward pass
                return x_adv, None, None
            logits, value = self.logits_and_loss(forward, x_adv, y)
            return x_adv, value, selection.success(logits, y, self.targeted)

        x_adv, _, _ = selection.best_of(self.restarts, run, self.unroll)
        return ops.stop_gradient(x_adv)

    def get_config(self):
        return {
            **super().get_config(),
            "step_size": self.step_size,
            "steps": self.steps,
            "restarts": self.restarts,
            "loss": self.loss,
            "random_start": self.random_start,
            "targeted": self.targeted,
            "unroll": self.unroll,
        }
