"""Per-example building blocks of the training objectives, with `keras.ops`."""

import keras
from keras import ops


def cross_entropy(logits, y):
    return keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)


def true_class_probability(logits, y):
    probs = ops.softmax(logits, axis=-1)
    return ops.sum(probs * ops.one_hot(y, ops.shape(logits)[-1], dtype=probs.dtype), axis=-1)


def kl_divergence(p, logits_q):
    """KL(p || softmax(logits_q)) per example; `p` are probabilities."""
    log_p = ops.log(ops.clip(p, 1e-12, 1.0))
    return ops.sum(p * (log_p - ops.log_softmax(logits_q, axis=-1)), axis=-1)


def squared_distance(a, b):
    """||a - b||_2^2 per example."""
    return ops.sum(ops.square(a - b), axis=-1)
