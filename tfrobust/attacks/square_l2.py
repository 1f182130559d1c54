"""The L2 Square attack's proposals: centred square patterns, mass moved between windows.

An L2 perturbation cannot sit on a vertex of the ball the way the L-inf one
does, so Andriushchenko et al. draw it from "pseudo-Gaussian" square patterns:
a window of side `s` holds +eta in one half and -eta in the other, where eta
decays with the ring distance from the half's centre (each ring k adds
1/(k+1)^2 to the pixels within it, so the value at ring distance m is
H(K) - H(m) with H(n) = sum_{k<n} 1/(k+1)^2). A query picks two windows, clears
the second and puts into the first a new pattern plus the old content, scaled
to keep the perturbation's total norm at eps. Windows, signs and the pattern's
orientation are drawn per image.
"""

import keras
import numpy as np
from keras import ops

TINY = 1e-12


def _ring_sums(size, power):
    """H(n) = sum_{k<n} 1/(k+1)^power for n = 0..size (a lookup table)."""
    return np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, size + 1) ** power)]).astype(
        "float32"
    )


def _rectangle(table, row, col, height, width):
    """Ring pattern of an `height` x `width` rectangle at (row, col), unnormalised."""
    ring = ops.maximum(ops.abs(row - ops.floor(height / 2)), ops.abs(col - ops.floor(width / 2)))
    outer = ops.maximum(ops.floor(height / 2), ops.floor(width / 2)) + 1.0
    size = table.shape[0] - 1
    index = lambda v: ops.cast(ops.clip(v, 0, size), "int32")  # noqa: E731
    return ops.take(table, index(outer)) - ops.take(table, index(ring))


def window_pattern(top, left, side, height, width, transpose, norm="l2"):
    """Per-image (N, H, W) map: the eta pattern of side `side` at (top, left), 0 elsewhere.

    `top`, `left` are (N,) float tensors, `side` a float scalar, `transpose`
    an (N,) bool tensor that swaps the pattern's rows and columns. The pattern
    has unit `norm`: +eta in its first half (rows, or columns if transposed),
    -eta in the second, each half normalised on its own first. The L1 pattern
    (`square_l1`) decays faster, each ring adding 1/(k+1)^4 instead of
    1/(k+1)^2, as in the reference.
    """
    table = ops.convert_to_tensor(_ring_sums(max(height, width), 4 if norm == "l1" else 2))
    rows = ops.cast(ops.arange(height), "float32")[None, :, None] - top[:, None, None]
    cols = ops.cast(ops.arange(width), "float32")[None, None, :] - left[:, None, None]
    flip = transpose[:, None, None]
    i, j = ops.where(flip, cols, rows), ops.where(flip, rows, cols)
    inside = (i >= 0) & (i < side) & (j >= 0) & (j < side)
    half = ops.floor(side / 2)
    first = i < half
    value = ops.where(
        first,
        _rectangle(table, i, j, half, side),
        _rectangle(table, i - half, j, side - half, side),
    )
    value = ops.where(inside, value, 0.0)

    def unit(part):
        if norm == "l1":
            size = ops.sum(ops.abs(part), axis=(1, 2), keepdims=True)
        else:
            size = ops.sqrt(ops.sum(ops.square(part), axis=(1, 2), keepdims=True))
        return part / ops.maximum(size, TINY)

    pattern = unit(ops.where(first, value, 0.0)) - unit(ops.where(first, 0.0, value))
    return unit(pattern)


def random_signs(shape, seed):
    """Independent +-1 values (shared with the L-inf proposal in `square`)."""
    return ops.where(keras.random.uniform(shape, seed=seed) < 0.5, -1.0, 1.0)


def _to_ball(x, delta, eps):
    """`x + delta` scaled to L2 norm `eps`, clipped to the image box."""
    norm = ops.sqrt(ops.sum(ops.square(delta), axis=(1, 2, 3), keepdims=True))
    return ops.clip(x + delta / (norm + TINY) * eps, 0.0, 1.0)


def initial(x, eps, seed):
    """The starting point: `grid` scaled to the L2 sphere of radius eps, in the box."""
    return _to_ball(x, grid(x, seed), eps)


def grid(x, seed, norm="l2"):
    """A grid of 5 x 5 windows of side H // 5, each a random-sign `norm` pattern (also for L1)."""
    batch, height, width, channels = ops.shape(x)
    side = height // 5
    start = (height - 5 * side) // 2
    delta = ops.zeros_like(x)
    for top in range(start, start + side * (height // side), side):
        for left in range(start, start + side * (width // side), side):
            if top + side > height or left + side > width:
                continue
            pattern = window_pattern(
                ops.full((batch,), float(top)),
                ops.full((batch,), float(left)),
                float(side),
                height,
                width,
                keras.random.uniform((batch,), seed=seed) < 0.5,
                norm,
            )
            delta = delta + pattern[..., None] * random_signs((batch, 1, 1, channels), seed)
    return delta


def random_window(batch, side, height, width, seed):
    """A `side` x `side` window at a random place per image: (N, H, W, 1) mask, top, left.

    Shared with the L-inf proposal in `square`.
    """
    u = keras.random.uniform((2, batch), seed=seed)
    top = ops.minimum(ops.floor(u[0] * (height - side + 1.0)), height - side)
    left = ops.minimum(ops.floor(u[1] * (width - side + 1.0)), width - side)
    rows = ops.cast(ops.arange(height), "float32")[None, :]
    cols = ops.cast(ops.arange(width), "float32")[None, :]
    in_rows = (rows >= top[:, None]) & (rows < top[:, None] + side)
    in_cols = (cols >= left[:, None]) & (cols < left[:, None] + side)
    return in_rows[:, :, None, None] & in_cols[:, None, :, None], top, left


def side_for(p, height, width):
    """Window side for pixel fraction `p`: round(sqrt(p H W)), odd, in [3, min(H, W)]."""
    side = ops.maximum(ops.round(ops.sqrt(p * height * width)), 3.0)
    side = side + 1.0 - ops.mod(side, 2.0)
    largest = float(min(height, width) - 1 + min(height, width) % 2)
    return ops.minimum(side, largest)


def two_windows(x, p, seed):
    """Two random windows of the side for `p`: `(first, second, top, left, side)`,
    the masks and the first's place (shared with `square_l1`)."""
    batch, height, width, _ = ops.shape(x)
    side = side_for(p, height, width)
    first, top, left = random_window(batch, side, height, width, seed)
    second, _, _ = random_window(batch, side, height, width, seed)
    return first, second, top, left, side


def propose(x, x_best, p, eps, seed):
    """One candidate per image: move the perturbation's mass from a window into another."""
    batch, height, width, channels = ops.shape(x)
    delta = x_best - x
    first, second, top, left, side = two_windows(x, p, seed)

    def norm(v, axis):
        return ops.sqrt(ops.sum(ops.square(v), axis=axis, keepdims=True))

    old = ops.where(first, delta, 0.0)
    either = ops.where(first | second, delta, 0.0)
    room = ops.maximum(eps**2 - ops.square(norm(delta, (1, 2, 3))), 0.0) / channels
    target = ops.sqrt(room + ops.square(norm(either, (1, 2, 3))))
    pattern = window_pattern(
        top, left, side, height, width, keras.random.uniform((batch,), seed=seed) < 0.5
    )
    new = pattern[..., None] * random_signs((batch, 1, 1, channels), seed)
    new = new + old / (norm(old, (1, 2)) + TINY)
    new = new / (norm(new, (1, 2)) + TINY) * target
    delta = ops.where(first, new, ops.where(second, 0.0, delta))
    return _to_ball(x, delta, eps)
