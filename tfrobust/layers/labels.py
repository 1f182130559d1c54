"""The labels of the batch being trained on, for layers whose losses need them.

FSR's separation and recalibration losses and CIFS's probe losses compare an
auxiliary head's prediction with the true label, but a Keras layer only sees
its input. `AdversarialModel` runs its training-mode passes inside
`label_scope(y)`; such layers read `current_labels()` there. A context
variable (not a module global) keeps concurrent replicas and nested scopes
apart, and it is read while a step is traced, so it works under `tf.function`
and `jax.jit` alike.
"""

import contextlib
import contextvars

_LABELS = contextvars.ContextVar("tfrobust_labels", default=None)


@contextlib.contextmanager
def label_scope(labels):
    """Make `labels` (integer class labels of the current batch) visible to layers."""
    token = _LABELS.set(labels)
    try:
        yield
    finally:
        _LABELS.reset(token)


def current_labels():
    """The labels set by the innermost `label_scope`, or `None` outside one."""
    return _LABELS.get()


def require_labels(layer):
    """The labels of the current `label_scope`, or a clear error naming the fix."""
    labels = current_labels()
    if labels is None:
        raise ValueError(
            f"{type(layer).__name__} layer {layer.name!r} adds a loss that needs the "
            "batch labels in training mode. Train with "
            "`tfrobust.training.adversarial(model, objective, attack)`, which calls the "
            "model inside `tfrobust.layers.label_scope(y)`, or wrap the training-mode "
            "call in `label_scope(y)` yourself. Received: no labels in scope."
        )
    return labels
