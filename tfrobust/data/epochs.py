"""Training batches whose order and augmentation are a function of the epoch number.

`tf.data`'s reshuffling and Keras's stateful augmentation layers draw from
generators that start again in a new process, so a run resumed at epoch 2
trained on epoch 0's order and crops, and differed from an uninterrupted run.
Here epoch `e` (of `fit`) is a pure function of `(seed, e)`: it shuffles the
images with a stateless permutation and gives each image its own stateless
augmentation seed; a resumed run builds the stream from the epoch it resumes
at (`first_epoch`) and sees exactly the batches the uninterrupted run saw.

The validation images are held out of the training split by a seeded
permutation (`holdout`), so the test split is left to the final evaluation.
"""

import numpy as np


def holdout(n_total, n, seed):
    """`(train_index, validation_index)`: `n` of `range(n_total)` drawn with `seed` for
    validation, the rest for training, both in the split's order."""
    if not 0 <= n < n_total:
        raise ValueError(
            f"dataset.validation.n: must be in [0, {n_total}) for a training "
            f"split of {n_total} images. Received: {n}"
        )
    chosen = np.zeros(n_total, bool)
    chosen[np.random.default_rng(seed).permutation(n_total)[:n]] = True
    return np.flatnonzero(~chosen), np.flatnonzero(chosen)


def training_batches(arrays, prepare, batch_size, steps_per_epoch, seed, epochs, first_epoch=0):
    """A `tf.data` stream of batches for `fit` epochs `first_epoch` to `epochs - 1`.

    Args:
        arrays: tuple of NumPy arrays, one row per example.
        prepare: `prepare(rows, example_seed) -> element`: turns one example's
            rows (a tuple of tensors) into a dataset element, drawing any
            randomness from `example_seed` (int64, shape (2,)) only.
        batch_size, steps_per_epoch: each epoch is `steps_per_epoch` batches of
            passes over the examples, each pass a new permutation (a pass ends
            in a smaller batch when `batch_size` does not divide the examples).
        seed: the run's seed.
        epochs, first_epoch: the range of `fit` epochs the stream covers.
    """
    import tensorflow as tf

    n = len(arrays[0])
    tensors = tuple(tf.constant(a) for a in arrays)
    base = tf.constant([seed, 0], tf.int64)
    fold = tf.random.experimental.stateless_fold_in

    def one_pass(epoch_key, r):
        key = fold(epoch_key, r)
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=fold(key, 0)
        )
        augment_key = fold(key, 1)
        examples = tf.data.Dataset.from_tensor_slices(order).map(
            lambda i: prepare(tuple(tf.gather(t, i) for t in tensors), fold(augment_key, i)),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        return examples.batch(batch_size)

    def epoch(e):
        key = fold(base, e)
        return tf.data.Dataset.counter().flat_map(lambda r: one_pass(key, r)).take(steps_per_epoch)

    return tf.data.Dataset.range(first_epoch, epochs).flat_map(epoch).prefetch(tf.data.AUTOTUNE)
