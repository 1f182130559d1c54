"""The labels of the batch being trained on, for layers whose losses need them.

FSR's separation and recalibration losses and CIFS's probe losses compare an
auxiliary head's prediction with the true label, but a Keras layer only sees
its input. `AdversarialModel` runs its training-mode passes inside
`label_scope(y)`; such layers read `current_labels()` there. A context
variable (not a module global) keeps concurrent replicas and nested scopes
apart, and it is read while a step is traced, so it works under `tf.function`
and `jax.jit` alike. The module sits below both `tfrobust.layers` and
`tfrobust.training`, so that training a model does not load every layer.

Some losses also need the whole model's output, which a layer computes before
it exists: FSR's wrong-class target y' is the model's most confident wrong
class (reference code, `get_pred`). Such a layer registers
`add_output_loss(layer, fn)`, and whoever called the model inside the scope
adds `scope.output_losses(logits)` to the loss.
"""

import contextlib
import contextvars

_PASS = contextvars.ContextVar("tfrobust_training_pass", default=None)


class TrainingPass:
    """One labelled training-mode call of a model: its labels and deferred losses."""

    def __init__(self, labels):
        self.labels = labels
        self._deferred = []

    def output_losses(self, logits):
        """The registered losses, each given the model's output `logits`."""
        return [fn(logits) for fn in self._deferred]


@contextlib.contextmanager
def label_scope(labels):
    """Make `labels` (integer class labels of the current batch) visible to layers.

    Yields the `TrainingPass`; losses registered with `add_output_loss` count
    only when the caller adds `scope.output_losses(logits)`, as
    `AdversarialModel` does.
    """
    token = _PASS.set(TrainingPass(labels))
    try:
        yield _PASS.get()
    finally:
        _PASS.reset(token)


def current_labels():
    """The labels set by the innermost `label_scope`, or `None` outside one."""
    training_pass = _PASS.get()
    return None if training_pass is None else training_pass.labels


def require_labels(layer):
    """The labels of the current `label_scope`, or a clear error naming the fix."""
    labels = current_labels()
    if labels is None:
        raise ValueError(
            f"{type(layer).__name__} layer {layer.name!r} adds a loss that needs the "
            "batch labels in training mode. Train with "
            "`tfrobust.training.adversarial(model, objective, attack)`, which calls the "
            "model inside `tfrobust.labels.label_scope(y)`, or wrap the training-mode "
            "call in `label_scope(y)` yourself. Received: no labels in scope."
        )
    return labels


def add_output_loss(layer, fn):
    """Register `fn(model_logits) -> scalar` as a loss of the current pass."""
    require_labels(layer)
    _PASS.get()._deferred.append(fn)
