"""What a saliency map explains: the logit of one class per image.

Every method differentiates `class_score(logits, y)`, the sum over the batch
of each image's logit for its class, so one backward pass gives each image's
own gradient (images do not interact in inference mode). The logit rather
than the softmax probability, as in the Grad-CAM paper: a probability's
gradient also pushes the other classes down, and vanishes once saturated.
"""

import weakref

import keras
from keras import ops

from tfrobust import backend
from tfrobust import validation


def class_score(logits, y):
    """Sum over the batch of `logits[i, y[i]]`."""
    return ops.sum(logits * ops.one_hot(y, ops.shape(logits)[-1]))


def as_labels(target):
    """Integer classes from labels, or from the soft targets some objectives use (TRADES)."""
    if len(target.shape) == 2:
        return ops.argmax(target, axis=-1)
    return ops.cast(target, "int32")


def prepare(model, x, y):
    """Check and convert a batch; `y=None` explains the predicted classes.

    Given labels must be integers in `[0, num_classes)`: a map of a class the
    model does not have would be silently of another one (`one_hot` of an
    out-of-range label is all zeros).
    """
    x = validation.check_images(x, box=False)
    if y is None:
        return ops.convert_to_tensor(x), ops.cast(
            ops.argmax(model(ops.convert_to_tensor(x), training=False), axis=-1), "int32"
        )
    x, y = validation.check_batch(model, x, y, box=False)
    return ops.convert_to_tensor(x), ops.convert_to_tensor(y.astype("int32"))


_CACHE = weakref.WeakKeyDictionary()


def compiled(model, key, fn, state=()):
    """`backend.compile_model_fn(model, fn, state)`, built once per model and `key`.

    Saliency is usually asked of the same model many times (a dataset, a
    figure); compiling once keeps each call at the cost of its passes.
    """
    per_model = _CACHE.setdefault(model, {})
    if key not in per_model:
        per_model[key] = backend.compile_model_fn(model, fn, state=list(state))
    return per_model[key]


def seed_generator(model, key, seed):
    """A seed generator kept with a model's compiled function, reset to `seed` if given.

    The compiled function advances the generator's state itself (on JAX it is
    passed in and written back), so it must be the same generator on every call.
    """
    per_model = _CACHE.setdefault(model, {})
    generator = per_model.setdefault(("seed",) + key, keras.random.SeedGenerator(seed))
    if seed is not None:
        generator.state.assign(keras.random.SeedGenerator(seed).state.value)
    return generator
