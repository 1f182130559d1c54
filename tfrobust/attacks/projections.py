"""Projections onto the threat model: the eps-ball around `x`, then the [0, 1] box.

Perturbations are batches shaped like images; norms are taken per example.
Clipping to the box after projecting onto the ball never leaves the ball,
because clipping only moves each pixel towards its clean value.
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


def project(x_adv, x, eps, norm):
    """Bring `x_adv` back into the `norm` ball of radius `eps` around `x`, then into [0, 1]."""
    delta = x_adv - x
    delta = project_linf(delta, eps) if norm == "linf" else project_l2(delta, eps)
    return ops.clip(x + delta, 0.0, 1.0)


def steepest_ascent(grad, norm):
    """The unit-norm step that increases a linear loss most: sign for L-inf, direction for L2."""
    return ops.sign(grad) if norm == "linf" else l2_normalize(grad)
