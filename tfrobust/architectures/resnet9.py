"""ResNet-9, the DAWNBench CIFAR network of David Page (Myrtle.ai, 2018),
used by AALP for SVHN.

prep conv(64) - [conv(128), pool, residual(128)] - [conv(256), pool] -
[conv(512), pool, residual(512)] - global max-pool - classifier, every conv a
bias-free 3x3 + BN + ReLU: 6,573,130 parameters for 10 classes. Page's
output scaling by 0.125 is a training-speed trick and is left to the recipe;
his bias-free classifier gets a bias here (10 parameters) like every other
network's `"classifier"`.
"""

import keras

from tfrobust.architectures import base

STAGES = ("stem", "stage1", "stage2", "stage3", "features")


def _conv_bn(x, filters, name):
    x = base.conv(filters, 3, f"{name}_conv")(x)
    return base.relu(f"{name}_relu")(base.batch_norm(f"{name}_bn")(x))


def _residual(x, name):
    y = _conv_bn(x, x.shape[-1], f"{name}_res1")
    y = _conv_bn(y, x.shape[-1], f"{name}_res2")
    return keras.layers.Add(name=f"{name}_add")([x, y])


def resnet9(num_classes=10, input_shape=(32, 32, 3), width=1.0, insert=None, mean=None, std=None):
    """DAWNBench ResNet-9 returning logits.

    Args:
        num_classes: number of classes.
        input_shape: `(height, width, channels)` of [0, 1] images.
        width: channel multiplier (1.0: 64-128-256-512).
        insert: `{stage: factory}`, stages `STAGES`; see `insertion.py`.
        mean, std: input normalisation, default by channel count.
    """
    inputs, x, stages = base.begin(
        "resnet9", STAGES, num_classes, input_shape, width, insert, mean, std
    )
    x = stages(_conv_bn(x, base.scaled(64, width), "stem"), "stem")
    for i, filters in enumerate((128, 256, 512), start=1):
        x = _conv_bn(x, base.scaled(filters, width), f"stage{i}")
        x = keras.layers.MaxPooling2D(2, name=f"stage{i}_pool")(x)
        if i != 2:
            x = _residual(x, f"stage{i}")
        x = stages(x, f"stage{i}")
    x = keras.layers.GlobalMaxPooling2D(name="pool")(x)
    return base.finish("resnet9", inputs, x, num_classes, stages)
