"""Which adversarial example to keep when an attack tries several times.

Restarts (and APGD-T's target classes) each produce a candidate per example.
We keep, per example, the first candidate that succeeds; until one does, the
one with the highest loss, so that a later attack can start from it.
"""

from keras import ops

from tfrobust.argument_validation import check_int
from tfrobust.attacks import loops


def success(logits, y, targeted=False):
    """Per-example success: predicted class differs from `y` (or equals the target)."""
    pred = ops.cast(ops.argmax(logits, axis=-1), y.dtype)
    return ops.equal(pred, y) if targeted else ops.not_equal(pred, y)


def per_example(mask, x):
    """Reshape an (N,) mask or vector to broadcast against a batch shaped like `x`."""
    return ops.reshape(mask, (-1,) + (1,) * (len(x.shape) - 1))


def keep_best(best, candidate):
    """Merge two `(x_adv, loss, success)` triples per example (see module docstring)."""
    best_x, best_loss, best_ok = best
    x, loss, ok = candidate
    take = ops.logical_and(
        ops.logical_not(best_ok), ops.logical_or(ok, ops.greater(loss, best_loss))
    )
    return (
        ops.where(per_example(take, x), x, best_x),
        ops.where(take, loss, best_loss),
        ops.logical_or(best_ok, ok),
    )


def best_of(n, run, unroll=False):
    """Best of `run(i) -> (x_adv, loss, success)` for i in [0, n) (see `loops.repeat`)."""
    first = run(0)
    if n == 1:
        return first
    return loops.repeat(n - 1, lambda i, best: keep_best(best, run(i + 1)), first, unroll)


def target_classes(logits, y, n_target_classes):
    """The targets of a targeted run, as AutoAttack picks them: column j holds the class of
    the (j + 2)-th highest clean logit. Refuses more targets than there are other classes."""
    k = logits.shape[-1]
    if k is not None:
        check_int(
            "n_target_classes",
            n_target_classes,
            maximum=k - 1,
            hint=f" (below the number of classes, {k})",
        )
    return ops.cast(ops.top_k(logits, n_target_classes + 1)[1][:, 1:], y.dtype)
