"""Auxiliary heads' logits, collected from a forward pass for adaptive attacks.

Defense layers with a classifier head of their own (CIFS's probes, FSR's and
CAS's auxiliary heads) make predictions besides the model's output, and the
model's features depend on them. An attack on the final logits alone can be
blocked by such a layer (an argmax inside, a mask whose gradient vanishes)
while an attack that also ascends the heads' losses is not (Tramer et al.
2020, "On Adaptive Attacks to Adversarial Example Defenses"; CIFS's reference
code evaluates this way). Inside `auxiliary_logits_scope()` each such layer
appends its heads' logits, in call order, in training and inference mode alike;
`tfrobust.attacks.JointLossPGD` ascends their losses with the output's.

The collector is a context variable read while the forward pass is traced, so
it works inside `tf.function`, `jax.jit` and gradient computations: collect
and use the logits within the same traced function.
"""

import contextlib
import contextvars

from keras import ops

_COLLECTOR = contextvars.ContextVar("tfrobust_auxiliary_logits", default=None)


@contextlib.contextmanager
def auxiliary_logits_scope():
    """Collect the auxiliary logits of every defense layer called inside the scope.

    Example:
        >>> from tfrobust import architectures
        >>> insert = architectures.cifs_insert("resnet18", 10,
        ...                                    stages=("stage4_block1", "stage4_block2"))
        >>> model = architectures.get("resnet18", width=0.125, insert=insert)
        >>> with auxiliary_logits_scope() as heads:
        ...     logits = model(ops.zeros((1, 32, 32, 3)), training=False)
        >>> len(heads)  # the two probes of CIFS's ResNet-18
        2
    """
    heads = []
    token = _COLLECTOR.set(heads)
    try:
        yield heads
    finally:
        _COLLECTOR.reset(token)


def collecting():
    """Whether a scope is collecting: layers skip computing heads nobody reads."""
    return _COLLECTOR.get() is not None


def emit(logits):
    """Hand `logits` (batch, classes) to the enclosing scope, if any, in float32 as every
    attack loss is computed (mixed precision included)."""
    heads = _COLLECTOR.get()
    if heads is not None:
        heads.append(ops.cast(logits, "float32"))
