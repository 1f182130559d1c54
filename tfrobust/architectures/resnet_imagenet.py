"""ImageNet ResNet-50/101/152 (He et al. 2016, bottleneck blocks), the
backbones of Feature Denoising (Xie et al. 2019).

7x7/2 stem + 3x3/2 max-pool, four bottleneck stages (the paper's res2-res5,
here `stage1`-`stage4`) with the stride on the 3x3 convolution (torchvision's
"v1.5"), bias-free convs with BN, 1x1 + BN projection shortcuts. Parameter
counts match torchvision: 25,557,032 / 44,549,160 / 60,192,808 for 1000
classes. Feature Denoising puts its denoising blocks after each stage.
"""

import keras

from tfrobust.architectures import base
from tfrobust.argument_validation import check_choice

STAGES = ("stem", "stage1", "stage2", "stage3", "stage4", "features")
BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


def bottleneck_block(x, filters, strides, name, expansion=4):
    """1x1 reduce - 3x3 (strided) - 1x1 expand, post-activation."""
    out_filters = filters * expansion
    y = base.conv(filters, 1, f"{name}_conv1")(x)
    y = base.relu(f"{name}_relu1")(base.batch_norm(f"{name}_bn1")(y))
    y = base.conv(filters, 3, f"{name}_conv2", strides=strides)(y)
    y = base.relu(f"{name}_relu2")(base.batch_norm(f"{name}_bn2")(y))
    y = base.conv(out_filters, 1, f"{name}_conv3")(y)
    y = base.batch_norm(f"{name}_bn3")(y)
    if strides != 1 or x.shape[-1] != out_filters:
        x = base.projection(x, out_filters, f"{name}_shortcut_conv", strides)
        x = base.batch_norm(f"{name}_shortcut_bn")(x)
    y = keras.layers.Add(name=f"{name}_add")([x, y])
    return base.relu(f"{name}_out")(y)


def imagenet_resnet(
    depth, num_classes=1000, input_shape=(224, 224, 3), width=1.0, insert=None, mean=None, std=None
):
    """ImageNet ResNet-`depth` (50, 101 or 152) returning logits.

    Args:
        depth: 50, 101 or 152.
        num_classes: number of classes.
        input_shape: `(height, width, channels)` of [0, 1] images.
        width: channel multiplier (1.0: bottleneck widths 64-128-256-512).
        insert: `{stage: factory}`, stages `STAGES`; see `insertion.py`.
        mean, std: input normalisation; ImageNet statistics for 3 channels
            by default.
    """
    check_choice("depth", depth, sorted(BLOCKS))
    arch = f"resnet{depth}"
    inputs, x, stages = base.begin(
        arch, STAGES, num_classes, input_shape, width, insert, mean, std, rgb_default="imagenet"
    )
    x = base.conv(base.scaled(64, width), 7, "stem_conv", strides=2)(x)
    x = base.relu("stem_relu")(base.batch_norm("stem_bn")(x))
    x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
    x = stages(x, "stem")
    for i, (n, filters) in enumerate(zip(BLOCKS[depth], (64, 128, 256, 512)), start=1):
        for j in range(n):
            strides = 2 if i > 1 and j == 0 else 1
            x = bottleneck_block(x, base.scaled(filters, width), strides, f"stage{i}_block{j + 1}")
        x = stages(x, f"stage{i}")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return base.finish(arch, inputs, x, num_classes, stages)


def resnet50(
    num_classes=1000, input_shape=(224, 224, 3), width=1.0, insert=None, mean=None, std=None
):
    """ImageNet ResNet-50 returning logits; arguments as `imagenet_resnet`."""
    return imagenet_resnet(50, num_classes, input_shape, width, insert, mean, std)


def resnet101(
    num_classes=1000, input_shape=(224, 224, 3), width=1.0, insert=None, mean=None, std=None
):
    """ImageNet ResNet-101 returning logits; arguments as `imagenet_resnet`."""
    return imagenet_resnet(101, num_classes, input_shape, width, insert, mean, std)


def resnet152(
    num_classes=1000, input_shape=(224, 224, 3), width=1.0, insert=None, mean=None, std=None
):
    """ImageNet ResNet-152 returning logits; arguments as `imagenet_resnet`."""
    return imagenet_resnet(152, num_classes, input_shape, width, insert, mean, std)
