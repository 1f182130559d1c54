"""Batches are padded to a few sizes, so a compiled attack is rarely rebuilt."""

import keras
import numpy as np
import pytest

from tfrobust.attacks import FGSM
from tfrobust.attacks.batching import pad_index
from tfrobust.attacks.batching import padded_size


def test_padded_sizes():
    assert [padded_size(n) for n in range(1, 9)] == list(range(1, 9))
    assert [padded_size(n) for n in (9, 11, 129, 200, 250, 256, 1000)] == [
        10,
        12,
        160,
        224,
        256,
        256,
        1024,
    ]
    for n in range(9, 3000):
        assert n <= padded_size(n) < n * 1.25
    for low in (16, 64, 256):  # four sizes per doubling
        assert len({padded_size(n) for n in range(low + 1, 2 * low + 1)}) == 4


def test_pad_index_repeats_the_first_entry():
    np.testing.assert_array_equal(
        pad_index([7, 3, 5, 1, 2, 4, 6, 8, 9]), [7, 3, 5, 1, 2, 4, 6, 8, 9, 7]
    )


class CountingFGSM(FGSM):
    """FGSM that counts how often its maths is traced (or run eagerly)."""

    traces = 0

    def perturb(self, forward, x, y):
        CountingFGSM.traces += 1
        return super().perturb(forward, x, y)


@pytest.mark.jax
def test_nearby_batch_sizes_share_one_compilation_and_padding_changes_nothing():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(10, 4, 4, 1)).astype("float32"), rng.integers(0, 3, 10)
    attack = CountingFGSM(eps=0.1)
    full = np.asarray(attack(model, x, y))
    part = np.asarray(attack(model, x[:9], y[:9]))
    assert part.shape == (9, 4, 4, 1)
    np.testing.assert_array_equal(part, full[:9])
    assert CountingFGSM.traces == 1
