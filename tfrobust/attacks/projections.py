"""Projections onto the threat model: the eps-ball around `x`, then the [0, 1] box.

Perturbations are batches shaped like images; norms are taken per example.
For L-inf and L2, clipping to the box after projecting onto the ball never
leaves the ball, because clipping only moves each pixel towards its clean
value. For L1 the two sets are projected onto at once (`project_l1`): the
box, applied after a projection onto the L1 ball, would waste budget that
other pixels could use.
"""

from keras import ops

# Guards divisions by a zero norm (a zero gradient or a zero perturbation).
TINY = 1e-12


def l2_norm(v):
    """Per-example L2 norm, broadcastable against `v` (shape (N, 1, ..., 1))."""
    axes = tuple(range(1, len(v.shape)))
    return ops.sqrt(ops.sum(ops.square(v), axis=axes, keepdims=True))


def l2_normalize(v):
    """`v / ||v||_2` per example; zero stays zero."""
    return v / (l2_norm(v) + TINY)


def project_linf(delta, eps):
    """Nearest point of the L-inf ball of radius `eps`: clip each pixel."""
    return ops.clip(delta, -eps, eps)


def project_l2(delta, eps):
    """Nearest point of the L2 ball of radius `eps`: rescale if outside."""
    norm = l2_norm(delta)
    return delta * ops.minimum(1.0, eps / (norm + TINY))


def project_l1(delta, x, eps):
    """Nearest point of {d : ||d||_1 <= eps, x + d in [0, 1]}: a soft threshold within the box.

    The Euclidean projection (the reference's `L1_projection`) keeps each
    sign and moves each magnitude to `clip(|d_i| - lam, 0, room_i)`, `room_i`
    the distance to the box in that direction, with the threshold `lam >= 0`
    where the L1 norm reaches `eps` (0 where the box alone brings it within).
    The norm is piecewise linear in `lam`, with kinks where a pixel leaves the
    box (`|d_i| - room_i`) and reaches zero (`|d_i|`); sorting the kinks
    finds the segment that holds `eps`, and `lam` on it is solved from the
    pixels in their linear part, in one sum.
    """
    shape = ops.shape(delta)
    d = ops.reshape(delta, (shape[0], -1))
    x = ops.reshape(x, (shape[0], -1))
    a = ops.abs(d)
    lo = ops.maximum(a - ops.maximum(ops.where(d > 0, 1.0 - x, x), 0.0), 0.0)
    kinks = ops.concatenate([lo, a], axis=1)
    order = ops.argsort(kinks, axis=1)
    kink = ops.take_along_axis(kinks, order, axis=1)
    slope = ops.cumsum(
        ops.take_along_axis(  # pixels in their linear part after each kink
            ops.concatenate([ops.ones_like(lo), -ops.ones_like(a)], axis=1), order, axis=1
        ),
        axis=1,
    )
    norm_at_0 = ops.sum(a - lo, axis=1, keepdims=True)
    drops = slope[:, :-1] * (kink[:, 1:] - kink[:, :-1])
    norm_at_kink = norm_at_0 - ops.concatenate(
        [ops.zeros_like(norm_at_0), ops.cumsum(drops, axis=1)], axis=1
    )
    k = ops.maximum(ops.sum(ops.cast(norm_at_kink > eps, "int32"), axis=1, keepdims=True) - 1, 0)
    start = ops.take_along_axis(kink, k, axis=1)
    linear = (lo <= start) & (a > start)
    boxed = ops.sum(ops.where(lo > start, a - lo, 0.0), axis=1, keepdims=True)
    lam = (boxed + ops.sum(ops.where(linear, a, 0.0), axis=1, keepdims=True) - eps) / ops.maximum(
        ops.sum(ops.cast(linear, d.dtype), axis=1, keepdims=True), 1.0
    )
    lam = ops.where(norm_at_0 > eps, ops.maximum(lam, 0.0), 0.0)
    return ops.reshape(ops.sign(d) * ops.clip(a - lam, 0.0, a - lo), shape)


def project(x_adv, x, eps, norm):
    """Bring `x_adv` back into the `norm` ball of radius `eps` around `x` and into [0, 1]."""
    delta = x_adv - x
    if norm == "l1":
        return ops.clip(x + project_l1(delta, x, eps), 0.0, 1.0)
    delta = project_linf(delta, eps) if norm == "linf" else project_l2(delta, eps)
    return ops.clip(x + delta, 0.0, 1.0)


def steepest_ascent(grad, norm):
    """The unit-norm step that increases a linear loss most: sign for L-inf, direction for L2."""
    return ops.sign(grad) if norm == "linf" else l2_normalize(grad)
