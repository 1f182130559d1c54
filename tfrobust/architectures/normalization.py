"""Per-channel input normalisation as a layer, so models take pixels in [0, 1].

Keeping `(x - mean) / std` inside the model means attacks, epsilons and saved
models all live in the [0, 1] pixel scale (the RobustBench convention), and a
reloaded `.keras` file normalises exactly as it did when it was trained.
"""

import numbers

import keras
from keras import ops

from tfrobust.argument_validation import check_number

# Per-dataset statistics of [0, 1] pixels, used when `get(..., mean=None, std=None)`.
STATS = {
    "mnist": ((0.1307,), (0.3081,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2471, 0.2435, 0.2616)),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}


def _as_floats(value, channels, arg, **limits):
    """`value`, one number or one per channel, as `channels` floats within `limits`."""
    values = [value] if isinstance(value, numbers.Number) else list(value)
    if len(values) == 1:
        values = values * channels
    if len(values) != channels:
        raise ValueError(
            f"`{arg}` must be one number or one per channel ({channels}). Received: {arg}={value!r}"
        )
    return [check_number(arg, v, **limits) for v in values]


def resolve_stats(mean, std, channels, rgb_default="cifar10"):
    """Return `(mean, std)` lists of length `channels`.

    Both `None` picks defaults by channel count: MNIST statistics for one
    channel, `rgb_default` ("cifar10" or "imagenet") for three. Any other
    channel count needs explicit values; `mean=0, std=1` turns normalisation off.
    """
    if (mean is None) != (std is None):
        raise ValueError(
            "Pass both `mean` and `std`, or neither for the defaults. "
            f"Received: mean={mean!r}, std={std!r}"
        )
    if mean is None:
        defaults = {1: "mnist", 3: rgb_default}
        if channels not in defaults:
            raise ValueError(
                f"No default normalisation for {channels} input channels; pass "
                f"`mean` and `std` (or mean=0, std=1). Received: channels={channels}"
            )
        mean, std = STATS[defaults[channels]]
    return (
        _as_floats(mean, channels, "mean"),
        _as_floats(std, channels, "std", minimum=0, exclusive_minimum=True),
    )


@keras.saving.register_keras_serializable(package="tfrobust")
class Normalize(keras.layers.Layer):
    """`(x - mean) / std` per channel (last axis), with constants kept in the config.

    Args:
        mean: list of per-channel means of [0, 1] pixels.
        std: list of per-channel standard deviations, all > 0.
        **kwargs: standard `keras.layers.Layer` arguments (`name`, `dtype`).

    Example:
        >>> layer = Normalize(mean=[0.5], std=[0.25])
        >>> float(layer(keras.ops.ones((1, 2, 2, 1)))[0, 0, 0, 0])
        2.0
    """

    def __init__(self, mean, std, **kwargs):
        super().__init__(**kwargs)
        if len(mean) != len(std) or not mean:
            raise ValueError(
                "`mean` and `std` must be non-empty and of equal length. "
                f"Received: mean={mean!r}, std={std!r}"
            )
        self.mean = [check_number("mean", v) for v in mean]
        self.std = [check_number("std", v, minimum=0, exclusive_minimum=True) for v in std]

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != len(self.mean):
            raise ValueError(
                f"Expected {len(self.mean)} input channels (one per mean/std). "
                f"Received: input_shape={tuple(input_shape)}"
            )

    def call(self, inputs):
        mean = ops.convert_to_tensor(self.mean, dtype=inputs.dtype)
        inv_std = ops.convert_to_tensor([1.0 / s for s in self.std], dtype=inputs.dtype)
        return (inputs - mean) * inv_std

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "std": self.std}
