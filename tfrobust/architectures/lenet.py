"""LeNet-5 for MNIST, the small model of the AALP experiments.

conv5x5(6) - maxpool - conv5x5(16) - maxpool - fc120 - fc84 - fc10, with the
first convolution 'same'-padded so a 28x28 digit gives the classic 16x5x5
map (61,706 parameters). ReLU rather than LeCun's tanh: saturating tanh units
flatten input gradients, which makes gradient attacks look stronger-defended
than the model is (gradient masking).
"""

import keras

from tfrobust.architectures import base

STAGES = ("stage1", "stage2", "features")


def lenet(num_classes=10, input_shape=(28, 28, 1), width=1.0, insert=None, mean=None, std=None):
    """LeNet-5 returning logits.

    Args:
        num_classes: number of classes.
        input_shape: `(height, width, channels)` of [0, 1] images.
        width: channel and unit multiplier (1.0 is the paper's size).
        insert: `{stage: factory}`, stages `STAGES`; see `insertion.py`.
        mean, std: input normalisation, default by channel count.
    """
    inputs, x, stages = base.begin(
        "lenet", STAGES, num_classes, input_shape, width, insert, mean, std
    )
    x = keras.layers.Conv2D(
        base.scaled(6, width), 5, padding="same", activation="relu", name="conv1"
    )(x)
    x = stages(keras.layers.MaxPooling2D(2, name="pool1")(x), "stage1")
    x = keras.layers.Conv2D(
        base.scaled(16, width), 5, padding="valid", activation="relu", name="conv2"
    )(x)
    x = stages(keras.layers.MaxPooling2D(2, name="pool2")(x), "stage2")
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(base.scaled(120, width), activation="relu", name="fc1")(x)
    x = keras.layers.Dense(base.scaled(84, width), activation="relu", name="fc2")(x)
    return base.finish("lenet", inputs, x, num_classes, stages)
