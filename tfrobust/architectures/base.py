"""What every architecture shares: argument checks, the [0, 1] input with its
normalisation layer, the shared conv/BN settings, and the Dense classifier.

A builder reads as `begin(...)`, the network body tagging its stages, then
`finish(...)`; the model outputs logits of a plain `Dense` named
`"classifier"`.
"""

import keras

from tfrobust.architectures.insertion import Stages
from tfrobust.architectures.normalization import Normalize
from tfrobust.architectures.normalization import resolve_stats
from tfrobust.argument_validation import check_int
from tfrobust.argument_validation import check_number

# PyTorch's BatchNorm defaults (momentum 0.1 there is 0.9 here), as in the
# reference implementations whose recipes we reproduce.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def check_args(num_classes, input_shape, width):
    """Reject bad builder arguments early; return `input_shape` as a tuple."""
    check_int("num_classes", num_classes)
    if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 3:
        raise ValueError(
            "`input_shape` must be (height, width, channels). "
            f"Received: input_shape={input_shape!r}"
        )
    check_number("width", width, minimum=0, exclusive_minimum=True)
    return tuple(check_int(f"input_shape[{i}]", d) for i, d in enumerate(input_shape))


def scaled(channels, width):
    """Channels of a layer under the `width` multiplier (at least 1)."""
    return max(1, int(round(channels * width)))


def conv(filters, kernel_size, name, strides=1, use_bias=False):
    """A 'same'-padded convolution with He initialisation.

    He-uniform has He-normal's variance, and JAX compiles its sampler about
    twice as fast as the truncated normal, once per kernel shape at build.
    """
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=use_bias,
        kernel_initializer="he_uniform",
        name=name,
    )


def projection(x, filters, name, strides=1):
    """A 1x1 projection shortcut: a stride-`strides` subsample, then a stride-1 1x1 conv.

    The same function (and weights, under the same `name`) as a strided 1x1
    'same' convolution, which never pads. Written this way because oneDNN's
    weight gradient of a strided 1x1 convolution with fewer than 16 input
    channels writes past its buffer on AVX-512 CPUs (oneDNN issue #6035): it
    aborted training of narrow (width < 0.25) ResNets on 64x64 images here.
    """
    if strides != 1:
        x = keras.layers.MaxPooling2D(1, strides=strides, padding="same", name=f"{name}_subsample")(
            x
        )
    return conv(filters, 1, name)(x)


def batch_norm(name):
    return keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name)


def relu(name):
    return keras.layers.ReLU(name=name)


def begin(
    arch,
    stage_names,
    num_classes,
    input_shape,
    width,
    insert,
    mean,
    std,
    rgb_default="cifar10",
    block_names=(),
):
    """Check arguments; return `(inputs, normalised_inputs, stages)`.

    `block_names`: the block points the builder offers with `stages.block`.
    """
    shape = check_args(num_classes, input_shape, width)
    stages = Stages(arch, stage_names, insert, block_names)
    mean, std = resolve_stats(mean, std, shape[-1], rgb_default)
    inputs = keras.Input(shape=shape, name="image")
    x = Normalize(mean, std, name="normalize")(inputs)
    return inputs, x, stages


def finish(arch, inputs, features, num_classes, stages):
    """Tag `features`, apply the classifier, return the functional model."""
    x = stages(features, "features")
    stages.check_complete()
    logits = keras.layers.Dense(int(num_classes), name="classifier")(x)
    return keras.Model(inputs, logits, name=arch)
