"""CIFAR ResNet-18/34 (He et al. 2016, basic blocks) as used across the
adversarial-training literature (kuangliu/pytorch-cifar layout): a 3x3 stem
with no max-pool, four stages of 64/128/256/512 channels, 1x1-conv + BN
projection shortcuts. ResNet-18 has 11,173,962 parameters for 10 classes.
"""

import keras

from tfrobust.architectures import base
from tfrobust.architectures.shortcut import ZeroPadShortcut

STAGES = ("stem", "stage1", "stage2", "stage3", "stage4", "features")
BLOCKS = {"resnet18": (2, 2, 2, 2), "resnet34": (3, 4, 6, 3)}


def block_names(arch):
    """Block points `"stage<i>_block<j>"`: each block's output, after its sum and ReLU."""
    return tuple(
        f"stage{i}_block{j}" for i, n in enumerate(BLOCKS[arch], start=1) for j in range(1, n + 1)
    )


def basic_block(x, filters, strides, name, shortcut="projection"):
    """Post-activation basic block; `shortcut` is "projection" (1x1 conv + BN,
    option B) or "zero_pad" (option A) when the shape changes."""
    y = base.conv(filters, 3, f"{name}_conv1", strides=strides)(x)
    y = base.relu(f"{name}_relu1")(base.batch_norm(f"{name}_bn1")(y))
    y = base.conv(filters, 3, f"{name}_conv2")(y)
    y = base.batch_norm(f"{name}_bn2")(y)
    if strides != 1 or x.shape[-1] != filters:
        if shortcut == "zero_pad":
            x = ZeroPadShortcut(filters, strides, name=f"{name}_shortcut")(x)
        else:
            x = base.projection(x, filters, f"{name}_shortcut_conv", strides)
            x = base.batch_norm(f"{name}_shortcut_bn")(x)
    y = keras.layers.Add(name=f"{name}_add")([x, y])
    return base.relu(f"{name}_out")(y)


def _resnet(arch, num_classes, input_shape, width, insert, mean, std):
    blocks = BLOCKS[arch]
    inputs, x, stages = base.begin(
        arch,
        STAGES,
        num_classes,
        input_shape,
        width,
        insert,
        mean,
        std,
        block_names=block_names(arch),
    )
    x = base.conv(base.scaled(64, width), 3, "stem_conv")(x)
    x = base.relu("stem_relu")(base.batch_norm("stem_bn")(x))
    x = stages(x, "stem")
    for i, (n, filters) in enumerate(zip(blocks, (64, 128, 256, 512)), start=1):
        for j in range(n):
            strides = 2 if i > 1 and j == 0 else 1
            name = f"stage{i}_block{j + 1}"
            x = stages.block(basic_block(x, base.scaled(filters, width), strides, name), name)
        x = stages(x, f"stage{i}")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return base.finish(arch, inputs, x, num_classes, stages)


def resnet18(num_classes=10, input_shape=(32, 32, 3), width=1.0, insert=None, mean=None, std=None):
    """CIFAR ResNet-18 returning logits.

    Args:
        num_classes: number of classes.
        input_shape: `(height, width, channels)` of [0, 1] images.
        width: channel multiplier (1.0: 64-128-256-512).
        insert: `{point: factory}`, points `STAGES` or `block_names("resnet18")`
            (`"stage4_block1"`: after the first block of stage 4); see `insertion.py`.
        mean, std: input normalisation, default by channel count.
    """
    return _resnet("resnet18", num_classes, input_shape, width, insert, mean, std)


def resnet34(num_classes=10, input_shape=(32, 32, 3), width=1.0, insert=None, mean=None, std=None):
    """CIFAR ResNet-34 returning logits; arguments as `resnet18`."""
    return _resnet("resnet34", num_classes, input_shape, width, insert, mean, std)
