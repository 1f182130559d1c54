"""The two custom layers the architectures save: `Normalize` and
`ZeroPadShortcut`."""

import keras
import numpy as np
import pytest

from tfrobust.architectures import Normalize
from tfrobust.architectures import ZeroPadShortcut


def _round_trip(layer):
    return keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))


@pytest.mark.jax
def test_normalize_values_and_config():
    layer = Normalize(mean=[0.5, 0.0], std=[0.25, 2.0])
    x = np.ones((1, 2, 2, 2), dtype="float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x))[0, 0, 0], [2.0, 0.5], rtol=1e-6)
    clone = _round_trip(layer)
    assert isinstance(clone, Normalize)
    assert (clone.mean, clone.std) == ([0.5, 0.0], [0.25, 2.0])


def test_normalize_rejects_bad_arguments():
    with pytest.raises(ValueError, match="Received"):
        Normalize(mean=[0.5], std=[0.0])
    with pytest.raises(ValueError, match="Received"):
        Normalize(mean=[0.5, 0.5], std=[1.0])
    with pytest.raises(ValueError, match="Received"):
        Normalize(mean=[0.5], std=[1.0])(np.ones((1, 2, 2, 3), dtype="float32"))


@pytest.mark.jax
@pytest.mark.parametrize("size", [4, 5])
def test_zero_pad_shortcut_subsamples_and_pads(size):
    x = np.arange(size * size * 2, dtype="float32").reshape(1, size, size, 2)
    layer = ZeroPadShortcut(filters=6, strides=2)
    y = keras.ops.convert_to_numpy(layer(x))
    half = -(-size // 2)
    assert y.shape == (1, half, half, 6) == layer.compute_output_shape(x.shape)
    np.testing.assert_array_equal(y[..., 2:4], x[:, ::2, ::2, :])
    assert not y[..., :2].any() and not y[..., 4:].any()
    clone = _round_trip(layer)
    assert (clone.filters, clone.strides) == (6, 2)


def test_zero_pad_shortcut_rejects_bad_arguments():
    with pytest.raises(ValueError, match="Received"):
        ZeroPadShortcut(filters=0)
    with pytest.raises(ValueError, match="Received"):
        ZeroPadShortcut(filters=2)(np.ones((1, 2, 2, 4), dtype="float32"))
