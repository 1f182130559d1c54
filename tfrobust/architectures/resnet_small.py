"""The CIFAR ResNet-20/32/56 family of He et al. (2016), section 4.2.

A 3x3 stem of 16 channels, three stages of n basic blocks (n = 3, 5, 9) at
16/32/64 channels, global average pooling. Shortcuts use option A
(subsample + zero-padded channels, no parameters) as in the paper, which is
what makes the counts match its table: 0.27M / 0.46M / 0.85M.
"""

import keras

from tfrobust.architectures import base
from tfrobust.architectures.resnet_cifar import basic_block

STAGES = ("stem", "stage1", "stage2", "stage3", "features")


def _resnet(depth, num_classes, input_shape, width, insert, mean, std):
    arch = f"resnet{depth}"
    inputs, x, stages = base.begin(arch, STAGES, num_classes, input_shape, width, insert, mean, std)
    n = (depth - 2) // 6
    x = base.conv(base.scaled(16, width), 3, "stem_conv")(x)
    x = stages(base.relu("stem_relu")(base.batch_norm("stem_bn")(x)), "stem")
    for i, filters in enumerate((16, 32, 64), start=1):
        for j in range(n):
            strides = 2 if i > 1 and j == 0 else 1
            x = basic_block(
                x,
                base.scaled(filters, width),
                strides,
                f"stage{i}_block{j + 1}",
                shortcut="zero_pad",
            )
        x = stages(x, f"stage{i}")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return base.finish(arch, inputs, x, num_classes, stages)


def resnet20(num_classes=10, input_shape=(32, 32, 3), width=1.0, insert=None, mean=None, std=None):
    """CIFAR ResNet-20 returning logits.

    Args:
        num_classes: number of classes.
        input_shape: `(height, width, channels)` of [0, 1] images.
        width: channel multiplier (1.0: 16-32-64).
        insert: `{stage: factory}`, stages `STAGES`; see `insertion.py`.
        mean, std: input normalisation, default by channel count.
    """
    return _resnet(20, num_classes, input_shape, width, insert, mean, std)


def resnet32(num_classes=10, input_shape=(32, 32, 3), width=1.0, insert=None, mean=None, std=None):
    """CIFAR ResNet-32 returning logits; arguments as `resnet20`."""
    return _resnet(32, num_classes, input_shape, width, insert, mean, std)


def resnet56(num_classes=10, input_shape=(32, 32, 3), width=1.0, insert=None, mean=None, std=None):
    """CIFAR ResNet-56 returning logits; arguments as `resnet20`."""
    return _resnet(56, num_classes, input_shape, width, insert, mean, std)
