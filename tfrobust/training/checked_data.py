"""The data `AdversarialModel.fit` trains on, checked before a step sees it.

A label outside the model's classes gives a one-hot of zeros (a loss of zero,
on JAX silently) and a NaN image a NaN loss several epochs later. Arrays are
checked in NumPy on entry (`tfrobust.validation`); a `tf.data.Dataset` is
checked batch by batch in its own input pipeline, on the host, with an
assertion naming the bad labels, so the compiled step is unchanged.
"""

import contextlib
import re

import keras

from tfrobust import validation

# The first words of the assertions `checked_dataset` adds to a pipeline.
_MARKERS = re.compile(r"(`y` holds labels outside.*|`x` holds non-finite.*)")


def _images(x):
    return x["image"] if isinstance(x, dict) else x


def output_classes(model, image_shape):
    """The number of classes `model` returns for images of `image_shape` (H, W, C)."""
    return int(keras.ops.shape(model(keras.ops.zeros((1, *image_shape)), training=False))[-1])


def check_arrays(model, x, y):
    """Raise `ValueError` for arrays `x` (or `{"image": x, ...}`) and `y` that do not fit."""
    images = validation.check_images(_images(x))
    validation.check_labels(y, len(images), validation.num_classes(model, images))


def checked_dataset(model, dataset):
    """`dataset` of `(x, y)` (or `(x, y, weights)`) batches, each asserted to hold finite images
    and valid labels."""
    import tensorflow as tf

    image_spec = _images(dataset.element_spec[0])
    num_classes = output_classes(model, image_spec.shape[-3:])

    def check(x, y, *weights):
        labels = tf.reshape(y, [-1])
        bad = tf.logical_or(labels < 0, labels >= num_classes)
        with tf.control_dependencies(
            [
                tf.debugging.Assert(
                    tf.logical_not(tf.reduce_any(bad)),
                    [
                        f"`y` holds labels outside [0, {num_classes}) for a model with "
                        f"{num_classes} classes; check the label encoding (0-based). Received:",
                        tf.boolean_mask(labels, bad),
                    ],
                    summarize=5,
                ),
                tf.debugging.assert_all_finite(
                    tf.cast(_images(x), "float32"),
                    "`x` holds non-finite values (NaN or inf); fix or drop those images",
                ),
            ]
        ):
            return (tf.nest.map_structure(tf.identity, x), tf.identity(y), *weights)

    return dataset.map(check)


def checked(model, x, y):
    """`(x, y)` as `fit` takes them, checked: arrays now, a dataset as it is read."""
    if y is None and hasattr(x, "element_spec"):
        return checked_dataset(model, x), None
    if y is not None:
        check_arrays(model, x, y)
    return x, y


def checked_validation(model, data):
    """`fit(validation_data=...)`: a dataset, or an `(x, y)` pair of arrays, checked."""
    if data is None:
        return None
    if hasattr(data, "element_spec"):
        return checked_dataset(model, data)
    if isinstance(data, (tuple, list)) and len(data) >= 2:
        check_arrays(model, data[0], data[1])
    return data


@contextlib.contextmanager
def dataset_errors():
    """Re-raise a failed `checked_dataset` assertion as a one-line `ValueError`.

    TensorFlow reports it as an `InvalidArgumentError` wrapped in a graph trace.
    """
    try:
        yield
    except Exception as error:
        found = _MARKERS.search(str(error))
        if found is None or type(error).__name__ != "InvalidArgumentError":
            raise
        raise ValueError(found.group(1).replace("] [", " ").strip(" ]")) from None
