"""Checks of the data given to the public entry points (attacks, `evaluate`, saliency, `fit`).

A robustness number computed from bad input is worse than an error: a label
outside the model's classes is silently counted as a misclassification, a NaN
image as a successful attack. These checks run on the host, in NumPy, once per
call and before anything is compiled, so they cost a pass over the batch and
never a round trip inside a compiled loop. Arguments (counts, budgets, choices)
are checked by `tfrobust.argument_validation`.
"""

import weakref

import keras
import numpy as np

from tfrobust.argument_validation import check_choice

OUTPUTS = ("logits", "probabilities")
SHOWN = 5  # bad values named in a message


def _first(values):
    values = list(values)
    text = ", ".join(str(v) for v in values[:SHOWN])
    return text + (f", ... ({len(values)} in all)" if len(values) > SHOWN else "")


def check_images(x, name="x", box=True):
    """`x` as a float32 NumPy batch (N, H, W, C), non-empty, finite, and in [0, 1] if `box`
    (saliency explains any input; attacks and evaluation need the image box)."""
    x = np.asarray(x, dtype="float32")
    if x.ndim != 4:
        raise ValueError(
            f"`{name}` must be a batch of images of shape (N, H, W, C). "
            f"Received: {name}.shape={x.shape}"
        )
    if len(x) == 0:
        raise ValueError(
            f"`{name}` is an empty batch: there is nothing to attack or "
            f"evaluate; pass at least one image. Received: {name}.shape={x.shape}"
        )
    finite = np.isfinite(x)
    if not finite.all():
        bad = np.argwhere(~finite)
        images = np.unique(bad[:, 0])
        raise ValueError(
            f"`{name}` holds {len(bad)} non-finite values (NaN or inf) in {len(images)} "
            f"image(s); fix or drop them before attacking. Received: non-finite at "
            f"{_first(tuple(int(i) for i in index) for index in bad)}"
        )
    lo, hi = float(x.min()), float(x.max())
    if box and (lo < 0 or hi > 1):
        raise ValueError(
            f"`{name}` must hold images in [0, 1] (normalisation belongs inside the model). "
            f"Received values in [{lo:g}, {hi:g}]"
        )
    return x


def check_labels(y, n, num_classes=None, name="y"):
    """`y` as int64: one whole-number label per image, in `[0, num_classes)`."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(
            f"`{name}` must hold one integer label per image, shape ({n},). "
            f"Received: {name}.shape={y.shape}"
        )
    if y.dtype == bool or not (
        np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)
    ):
        raise ValueError(f"`{name}` must hold integer class labels. Received: dtype {y.dtype}")
    if np.issubdtype(y.dtype, np.floating):
        bad = np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))
        if bad.size:
            raise ValueError(
                f"`{name}` must hold integer class labels; {bad.size} are not whole numbers. "
                f"Received: {_first(f'{name}[{i}]={y[i]!r}' for i in bad)}"
            )
    y = y.astype("int64")
    if num_classes is not None:
        bad = np.flatnonzero((y < 0) | (y >= num_classes))
        if bad.size:
            raise ValueError(
                f"`{name}` holds {bad.size} labels outside [0, {num_classes}) for a model with "
                f"{num_classes} classes; check the label encoding (0-based) and the model. "
                f"Received: {_first(f'{name}[{i}]={y[i]}' for i in bad)}"
            )
    return y


_NUM_CLASSES = weakref.WeakKeyDictionary()


def num_classes(model, x):
    """The number of classes `model` outputs, from one forward pass on `x[:1]` (cached)."""
    try:
        return _NUM_CLASSES[model]
    except (KeyError, TypeError):
        pass
    logits = model(keras.ops.convert_to_tensor(x[:1]), training=False)
    count = int(keras.ops.shape(logits)[-1])
    try:
        _NUM_CLASSES[model] = count
    except TypeError:  # not weak-referenceable: a plain function
        pass
    return count


def check_batch(model, x, y, name="x", box=True):
    """`(x float32, y int64)` validated against each other and against `model`'s classes."""
    x = check_images(x, name, box)
    return x, check_labels(y, len(x), num_classes(model, x))


def check_outputs(model, x, outputs):
    """Refuse a model that returns probabilities unless `outputs="probabilities"` says so.

    AutoAttack's check: the attacks' losses (cross-entropy, DLR, margins) are
    defined on logits; on a softmax output their gradients vanish and the
    reported robustness is too high.
    """
    check_choice("outputs", outputs, OUTPUTS)
    if outputs == "probabilities":
        return
    out = keras.ops.convert_to_numpy(
        model(keras.ops.convert_to_tensor(x[:64]), training=False)
    ).astype("float64")
    rows = out.sum(axis=-1)
    if out.min() >= 0 and out.max() <= 1 and np.allclose(rows, 1.0, atol=1e-4):
        raise ValueError(
            "The model returns probabilities (every row in [0, 1], summing to 1), but attacks "
            "need logits: remove the final softmax, or pass outputs='probabilities' if that "
            f"is intended. Received: outputs={outputs!r}, row sums {rows.min():.6f} to "
            f"{rows.max():.6f}"
        )
