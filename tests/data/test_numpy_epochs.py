"""`data.numpy_epochs`: the recipes' batches where TensorFlow is not installed."""

import numpy as np

from tfrobust.data.numpy_epochs import EpochBatches
from tfrobust.data.numpy_epochs import FixedBatches
from tfrobust.data.numpy_epochs import augment_batch


def stream(first_epoch=0, steps=3):
    """Ten examples (their indices), four a batch, as `fit` reads them."""
    return EpochBatches(
        (np.arange(10),), lambda rows, rng: rows[0], 4, steps, seed=7, first_epoch=first_epoch
    )


def next_epoch(batches):
    batches.on_epoch_begin()  # as Keras's adapter calls it
    return [batches[i] for i in range(batches.num_batches)]


def test_each_epoch_is_a_new_pass_over_every_example():
    batches = stream()
    first, second = next_epoch(batches), next_epoch(batches)
    for epoch in (first, second):
        assert [len(b) for b in epoch] == [4, 4, 2]
        assert sorted(np.concatenate(epoch)) == list(range(10))
    assert not np.array_equal(np.concatenate(first), np.concatenate(second))


def test_a_resumed_stream_repeats_the_uninterrupted_one():
    uninterrupted = stream()
    next_epoch(uninterrupted)
    expected = next_epoch(uninterrupted)
    resumed = next_epoch(stream(first_epoch=1))
    assert all(np.array_equal(a, b) for a, b in zip(expected, resumed))


def test_steps_past_a_pass_start_the_next_permutation():
    epoch = next_epoch(stream(steps=5))
    assert [len(b) for b in epoch] == [4, 4, 2, 4, 4]
    assert sorted(np.concatenate(epoch[:3])) == list(range(10))
    assert len(set(np.concatenate(epoch[3:]))) == 8


def test_fixed_batches_keep_the_order_and_skip_augmentation():
    seen = []
    batches = FixedBatches((np.arange(10),), lambda rows, rng: seen.append(rng) or rows[0], 4)
    assert [list(batches[i]) for i in range(batches.num_batches)] == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
    ]
    assert seen == [None, None, None]


def test_augment_batch_crops_inside_the_padding_and_flips_about_half():
    x = np.random.default_rng(0).random((200, 6, 6, 2)).astype("float32")
    out = augment_batch(x, np.random.default_rng(1), padding=2)
    padded = np.pad(x, [(0, 0), (2, 2), (2, 2), (0, 0)])
    flipped = 0
    for i in range(len(x)):
        crops = [padded[i, t : t + 6, s : s + 6] for t in range(5) for s in range(5)]
        plain = any(np.array_equal(c, out[i]) for c in crops)
        mirrored = any(np.array_equal(c[:, ::-1], out[i]) for c in crops)
        assert plain or mirrored, i
        flipped += mirrored and not plain
    assert 70 < flipped < 130
