"""Wide ResNets (Zagoruyko & Komodakis 2016) as used by TRADES, CIFS and FSR.

A 3x3 stem of 16 channels, three stages of (depth - 4) / 6 pre-activation
blocks at 16k/32k/64k channels (k the widening factor), 1x1 projection
shortcuts where the width changes, and a final BN-ReLU before pooling.
WRN-28-10 has 36,479,194 parameters and WRN-34-10 46,160,474 for 10 classes.
No dropout (the adversarial-training recipes use none).
"""

import keras

from tfrobust.architectures import base
from tfrobust.argument_validation import check_int

STAGES = ("stem", "stage1", "stage2", "stage3", "features")


def block_names(depth):
    """Block points of WRN-`depth`: `"stage<i>_block<j>_preact"` (the block's pre-activated
    input to its residual branch) and `"stage<i>_block<j>"` (its output, the sum)."""
    n = (depth - 4) // 6
    return tuple(
        f"stage{i}_block{j}{suffix}"
        for i in (1, 2, 3)
        for j in range(1, n + 1)
        for suffix in ("_preact", "")
    )


def wide_block(x, filters, strides, name, stages=None):
    """Pre-activation block. Where the width changes the shortcut reads the
    pre-activated input, otherwise the raw one (as in the reference code).
    With `stages`, a layer inserted at `"<name>_preact"` modifies the residual
    branch's input only, never the shortcut's."""
    out = base.relu(f"{name}_relu1")(base.batch_norm(f"{name}_bn1")(x))
    if x.shape[-1] == filters and strides == 1:
        shortcut = x
    else:
        shortcut = base.projection(out, filters, f"{name}_shortcut_conv", strides)
    if stages is not None:
        out = stages.block(out, f"{name}_preact")
    y = base.conv(filters, 3, f"{name}_conv1", strides=strides)(out)
    y = base.relu(f"{name}_relu2")(base.batch_norm(f"{name}_bn2")(y))
    y = base.conv(filters, 3, f"{name}_conv2")(y)
    return keras.layers.Add(name=f"{name}_add")([shortcut, y])


def wide_resnet(
    depth,
    widen_factor,
    num_classes=10,
    input_shape=(32, 32, 3),
    width=1.0,
    insert=None,
    mean=None,
    std=None,
):
    """WRN-`depth`-`widen_factor` returning logits.

    Args:
        depth: total depth, 6n + 4 (28, 34, ...).
        widen_factor: the paper's k.
        num_classes: number of classes.
        input_shape: `(height, width, channels)` of [0, 1] images.
        width: extra channel multiplier on every layer, stem included.
        insert: `{point: factory}`, points `STAGES` or `block_names(depth)`; see
            `insertion.py`. `stage3` is the last block's sum, before the final
            BN-ReLU; `features` the pooled final BN-ReLU.
        mean, std: input normalisation, default by channel count.
    """
    if check_int("depth", depth, minimum=10) % 6 != 4:
        raise ValueError(f"`depth` must be 6n + 4 (28, 34, ...). Received: depth={depth!r}")
    check_int("widen_factor", widen_factor)
    arch = f"wrn{depth}_{widen_factor}"
    inputs, x, stages = base.begin(
        arch,
        STAGES,
        num_classes,
        input_shape,
        width,
        insert,
        mean,
        std,
        block_names=block_names(depth),
    )
    n = (depth - 4) // 6
    x = stages(base.conv(base.scaled(16, width), 3, "stem_conv")(x), "stem")
    for i, filters in enumerate((16, 32, 64), start=1):
        for j in range(n):
            strides = 2 if i > 1 and j == 0 else 1
            name = f"stage{i}_block{j + 1}"
            x = stages.block(
                wide_block(x, base.scaled(filters * widen_factor, width), strides, name, stages),
                name,
            )
        x = stages(x, f"stage{i}")
    x = base.relu("final_relu")(base.batch_norm("final_bn")(x))
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return base.finish(arch, inputs, x, num_classes, stages)


def wrn28_10(num_classes=10, input_shape=(32, 32, 3), width=1.0, insert=None, mean=None, std=None):
    """WRN-28-10 returning logits; arguments as `wide_resnet`."""
    return wide_resnet(28, 10, num_classes, input_shape, width, insert, mean, std)


def wrn34_10(num_classes=10, input_shape=(32, 32, 3), width=1.0, insert=None, mean=None, std=None):
    """WRN-34-10 returning logits; arguments as `wide_resnet`."""
    return wide_resnet(34, 10, num_classes, input_shape, width, insert, mean, std)
