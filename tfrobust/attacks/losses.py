"""Per-example losses that attacks maximise, written with `keras.ops`.

Every function takes logits of shape (N, K) and integer labels of shape (N,)
and returns one value per example; an attack ascends it. Targeted variants
are already signed so that ascending them moves towards the target class.
"""

import keras
from keras import ops

from tfrobust.argument_validation import check_choice

# Added to the DLR denominator so that tied top logits do not divide by zero
# (Croce & Hein 2020 use the same constant).
DLR_EPS = 1e-12


def _num_classes(logits, minimum, name):
    k = logits.shape[-1]
    if k is not None and k < minimum:
        raise ValueError(
            f"The {name} loss needs at least {minimum} classes. Received: logits with {k} classes"
        )


def _true_logit(logits, y):
    return ops.sum(logits * ops.one_hot(y, ops.shape(logits)[-1], dtype=logits.dtype), -1)


def _max_other(logits, y):
    """max_{j != y} z_j: the strongest competitor of class `y`."""
    mask = ops.one_hot(y, ops.shape(logits)[-1], dtype="bool")
    return ops.max(ops.where(mask, float("-inf"), logits), axis=-1)


def cross_entropy(logits, y):
    """Per-example softmax cross-entropy with integer labels."""
    return keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)


def targeted_cross_entropy(logits, target):
    """Minus the cross-entropy of `target`: ascending it raises p(target)."""
    return -cross_entropy(logits, target)


def cw_margin(logits, y):
    """The "CW-inf" margin max_{j != y} z_j - z_y; positive iff misclassified."""
    _num_classes(logits, 2, "CW margin")
    return _max_other(logits, y) - _true_logit(logits, y)


def targeted_cw_margin(logits, target):
    """z_t - max_{j != t} z_j; positive iff the target class wins."""
    return -cw_margin(logits, target)


def dlr(logits, y):
    """Difference of Logits Ratio (Croce & Hein 2020), untargeted.

    -(z_y - max_{j != y} z_j) / (z_pi1 - z_pi3 + 1e-12), with z_pi sorted in
    decreasing order. The denominator makes it invariant to shifting and
    rescaling the logits, so saturated softmax outputs cannot mask gradients.
    """
    _num_classes(logits, 3, "DLR")
    top = ops.top_k(logits, 3, sorted=True)[0]
    margin = _true_logit(logits, y) - _max_other(logits, y)
    return -margin / (top[:, 0] - top[:, 2] + DLR_EPS)


def targeted_dlr(logits, target, y=None):
    """Targeted DLR (Croce & Hein 2020, APGD-T).

    -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2 + 1e-12). Without the true
    labels `y`, z_y is replaced by max_{j != t} z_j, which equals z_y while the
    point is still classified as `y`, i.e. for as long as the attack matters.
    """
    _num_classes(logits, 4, "targeted DLR")
    top = ops.top_k(logits, 4, sorted=True)[0]
    z_y = _max_other(logits, target) if y is None else _true_logit(logits, y)
    margin = z_y - _true_logit(logits, target)
    return -margin / (top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + DLR_EPS)


_LOSSES = {
    "ce": (cross_entropy, targeted_cross_entropy),
    "cw": (cw_margin, targeted_cw_margin),
    "dlr": (dlr, targeted_dlr),
}
LOSSES = tuple(_LOSSES)


def get(name, targeted=False):
    """The per-example loss `fn(logits, labels)` an attack ascends.

    With `targeted=True`, `labels` are the target classes.
    """
    check_choice("loss", name, LOSSES)
    return _LOSSES[name][1 if targeted else 0]
