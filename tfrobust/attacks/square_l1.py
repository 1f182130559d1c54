"""The L1 Square attack's proposals: the L2 attack's windows, with L1 mass moved between them.

Croce & Hein's L1 version of the Square attack (the reference's `SquareAttack`
with `norm="L1"`) keeps the L2 attack's scheme (`square_l2`): a query picks
two windows, clears the second and puts into the first a new pattern plus
the old content. The patterns decay faster (rings add 1/(k+1)^4), masses are
L1 norms per channel, and the result is projected onto the L1 ball of radius
eps within the [0, 1] box (`projections.project_l1`), a hair inside, as the
reference does.
"""

import keras
from keras import ops

from tfrobust.attacks import projections
from tfrobust.attacks.square_l2 import TINY
from tfrobust.attacks.square_l2 import grid
from tfrobust.attacks.square_l2 import random_signs
from tfrobust.attacks.square_l2 import two_windows
from tfrobust.attacks.square_l2 import window_pattern

INSIDE = 1.0 - 1e-6  # the reference projects onto eps * (1 - 1e-6)


def _to_ball(x, delta, eps):
    return ops.clip(x + projections.project_l1(delta, x, INSIDE * eps), 0.0, 1.0)


def initial(x, eps, seed):
    """The starting point: the L1 `grid` of patterns, projected onto the ball in the box."""
    return _to_ball(x, grid(x, seed, norm="l1"), eps)


def propose(x, x_best, p, eps, seed):
    """One candidate per image: move the perturbation's L1 mass from a window into another."""
    batch, height, width, channels = ops.shape(x)
    delta = x_best - x
    first, second, top, left, side = two_windows(x, p, seed)

    def mass(v, axis):
        return ops.sum(ops.abs(v), axis=axis, keepdims=True)

    old = ops.where(first, delta, 0.0)
    either = mass(ops.where(first | second, delta, 0.0), (1, 2))  # per channel
    room = ops.maximum(eps - mass(delta, (1, 2, 3)), 0.0)
    pattern = window_pattern(
        top, left, side, height, width, keras.random.uniform((batch,), seed=seed) < 0.5, norm="l1"
    )
    new = pattern[..., None] * random_signs((batch, 1, 1, channels), seed)
    new = new + old / (mass(old, (1, 2)) + TINY)
    new = new / (mass(new, (1, 2)) + TINY) * (room / channels + either) * channels
    delta = ops.where(first, new, ops.where(second, 0.0, delta))
    return _to_ball(x, delta, eps)
