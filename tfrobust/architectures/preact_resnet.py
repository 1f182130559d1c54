"""PreAct ResNet-18 (He et al. 2016, "Identity Mappings in Deep Residual
Networks") in the CIFAR layout of Rice et al. (2020) / Wong et al. (2020):
BN-ReLU before each convolution, projection shortcuts taken from the
pre-activated input, and a final BN-ReLU before pooling (kuangliu's version
omits it; pre-activation stacks need it). 11,172,170 parameters for 10 classes.
"""

import keras

from tfrobust.architectures import base

STAGES = ("stem", "stage1", "stage2", "stage3", "stage4", "features")


def preact_block(x, filters, strides, name):
    """Pre-activation basic block (no output activation)."""
    out = base.relu(f"{name}_relu1")(base.batch_norm(f"{name}_bn1")(x))
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = base.projection(out, filters, f"{name}_shortcut_conv", strides)
    y = base.conv(filters, 3, f"{name}_conv1", strides=strides)(out)
    y = base.relu(f"{name}_relu2")(base.batch_norm(f"{name}_bn2")(y))
    y = base.conv(filters, 3, f"{name}_conv2")(y)
    return keras.layers.Add(name=f"{name}_add")([shortcut, y])


def preact_resnet18(
    num_classes=10, input_shape=(32, 32, 3), width=1.0, insert=None, mean=None, std=None
):
    """PreAct ResNet-18 returning logits.

    Args:
        num_classes: number of classes.
        input_shape: `(height, width, channels)` of [0, 1] images.
        width: channel multiplier (1.0: 64-128-256-512).
        insert: `{stage: factory}`, stages `STAGES`; see `insertion.py`.
            `stage4` is the last block's sum, before the final BN-ReLU.
        mean, std: input normalisation, default by channel count.
    """
    arch = "preact_resnet18"
    inputs, x, stages = base.begin(arch, STAGES, num_classes, input_shape, width, insert, mean, std)
    x = stages(base.conv(base.scaled(64, width), 3, "stem_conv")(x), "stem")
    for i, filters in enumerate((64, 128, 256, 512), start=1):
        for j in range(2):
            strides = 2 if i > 1 and j == 0 else 1
            x = preact_block(x, base.scaled(filters, width), strides, f"stage{i}_block{j + 1}")
        x = stages(x, f"stage{i}")
    x = base.relu("final_relu")(base.batch_norm("final_bn")(x))
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return base.finish(arch, inputs, x, num_classes, stages)
