"""VGG-16 with batch normalisation, CIFAR variant (kuangliu/pytorch-cifar),
the VGG of FSR (Kim et al. 2023).

Thirteen 3x3 conv + BN + ReLU in five groups of 64/128/256/512/512 channels,
each group closed by a 2x2 max-pool, then one linear classifier on the 512
pooled features (no 4096-wide layers): 14,728,266 parameters for 10 classes.
Global average pooling replaces the flatten; on 32x32 inputs the map is 1x1,
so the two are the same and larger inputs still work.
"""

import keras

from tfrobust.architectures import base

STAGES = ("stage1", "stage2", "stage3", "stage4", "stage5", "features")
CONFIG = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


def vgg16(num_classes=10, input_shape=(32, 32, 3), width=1.0, insert=None, mean=None, std=None):
    """VGG-16-BN returning logits.

    Args:
        num_classes: number of classes.
        input_shape: `(height, width, channels)` of [0, 1] images, at least
            32x32 (five halvings).
        width: channel multiplier.
        insert: `{stage: factory}`, stages `STAGES`; see `insertion.py`.
        mean, std: input normalisation, default by channel count.
    """
    inputs, x, stages = base.begin(
        "vgg16", STAGES, num_classes, input_shape, width, insert, mean, std
    )
    for i, group in enumerate(CONFIG, start=1):
        for j, filters in enumerate(group, start=1):
            name = f"stage{i}_conv{j}"
            x = base.conv(base.scaled(filters, width), 3, name, use_bias=True)(x)
            x = base.relu(f"{name}_relu")(base.batch_norm(f"{name}_bn")(x))
        x = stages(keras.layers.MaxPooling2D(2, name=f"stage{i}_pool")(x), f"stage{i}")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return base.finish("vgg16", inputs, x, num_classes, stages)
