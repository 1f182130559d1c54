"""Round batches up to a few sizes, so that compiled attacks are not rebuilt per size.

An evaluation attacks only the points still classified correctly, so each
call sees another number of images, and a compiled function is retraced (and
on XLA recompiled, tens of seconds for a ResNet) for every new shape. Padding
the batch to a size `k * 2**m` with `k` in 4..7 meets at most four sizes per
doubling and wastes less than a quarter of the rows. Attacks treat examples
independently, so padding rows (copies of the first example) change nothing
for the others.
"""

import numpy as np


def padded_size(n):
    """The smallest size of the form `k * 2**m` (`k` in 4..7), or `n` itself up to 8."""
    if n <= 8:
        return n
    grain = 1 << (n.bit_length() - 3)
    return -(-n // grain) * grain


def pad_index(index):
    """`index` followed by copies of its first entry, up to `padded_size(len(index))`."""
    index = np.asarray(index)
    return np.concatenate([index, np.full(padded_size(len(index)) - len(index), index[0])])
