"""Training and validation batches in NumPy, for JAX installs without TensorFlow.

The GPU images of many clouds ship JAX but not TensorFlow, whose `tf.data`
pipelines (`epochs.training_batches`) the recipes use otherwise. These keep
their contract: epoch `e` of `fit` is a pure function of `(seed, e)`, a pass
over the examples at a time, each pass a new permutation and each batch its
own augmentation draws, so a resumed run sees the batches an uninterrupted
one saw. The draws come from NumPy's generator, not TensorFlow's stateless
ops: the two streams hold different crops of the same distribution.
"""

import functools
import math

import keras
import numpy as np


def augment_batch(x, rng, padding=4, flip=True):
    """A batch of HWC images zero-padded by `padding`, each cropped back at its own
    offset and maybe flipped, drawn from the NumPy generator `rng`."""
    n, h, w = x.shape[:3]
    padded = np.pad(x, [(0, 0), (padding, padding), (padding, padding), (0, 0)])
    top, left = rng.integers(0, 2 * padding + 1, size=(2, n))
    out = np.stack([padded[i, t : t + h, s : s + w] for i, (t, s) in enumerate(zip(top, left))])
    if flip:
        flipped = rng.random(n) < 0.5
        out[flipped] = out[flipped, :, ::-1]
    return out


class EpochBatches(keras.utils.PyDataset):
    """`fit`'s batches as `epochs.training_batches` defines them, built in NumPy.

    Args:
        arrays: tuple of NumPy arrays, one row per example.
        prepare: `prepare(rows, rng) -> element`: turns a batch's rows (a tuple
            of arrays) into a `fit` element, drawing any randomness from the
            NumPy generator `rng` only.
        batch_size, steps_per_epoch: each epoch is `steps_per_epoch` batches of
            passes over the examples (a pass ends in a smaller batch when
            `batch_size` does not divide the examples).
        seed: the run's seed.
        first_epoch: the `fit` epoch the stream starts at (a resumed run's).
    """

    def __init__(self, arrays, prepare, batch_size, steps_per_epoch, seed, first_epoch=0):
        super().__init__(workers=4)
        self.arrays, self.prepare = arrays, prepare
        self.batch_size, self.steps, self.seed = batch_size, steps_per_epoch, seed
        self.epoch, self._begun = first_epoch, False
        # Each pass's permutation drawn once, not once per batch; cached per instance, so
        # the cache holds no other stream (and its arrays) alive.
        self._order = functools.lru_cache(maxsize=2)(self._permutation)

    def on_epoch_begin(self):
        """Move to the next epoch, except at the first: Keras may read a batch or two
        before it (TensorFlow, for the element spec), which are the first epoch's."""
        self.epoch += self._begun
        self._begun = True

    @property
    def num_batches(self):
        return self.steps

    def _permutation(self, epoch, npass):
        return np.random.default_rng([self.seed, epoch, npass]).permutation(len(self.arrays[0]))

    def __getitem__(self, step):
        per_pass = math.ceil(len(self.arrays[0]) / self.batch_size)
        npass, b = divmod(step, per_pass)
        order = self._order(self.epoch, npass)
        index = order[b * self.batch_size : (b + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, self.epoch, npass, b, 1])
        return self.prepare(tuple(a[index] for a in self.arrays), rng)


class FixedBatches(keras.utils.PyDataset):
    """The rows of `arrays` in order, `batch_size` at a time, through `prepare(rows, None)`."""

    def __init__(self, arrays, prepare, batch_size):
        super().__init__()
        self.arrays, self.prepare, self.batch_size = arrays, prepare, batch_size

    @property
    def num_batches(self):
        return math.ceil(len(self.arrays[0]) / self.batch_size)

    def __getitem__(self, b):
        rows = slice(b * self.batch_size, (b + 1) * self.batch_size)
        return self.prepare(tuple(a[rows] for a in self.arrays), None)
