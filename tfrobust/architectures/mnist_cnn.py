"""The MNIST CNN of Madry et al. (2018), "Towards Deep Learning Models
Resistant to Adversarial Attacks" (MadryLab mnist_challenge).

conv5x5(32) - maxpool - conv5x5(64) - maxpool - fc1024 - fc10, 'same'
padding and ReLU as in the challenge code: 3,274,634 parameters on 28x28.
"""

import keras

from tfrobust.architectures import base

STAGES = ("stage1", "stage2", "features")


def mnist_cnn(num_classes=10, input_shape=(28, 28, 1), width=1.0, insert=None, mean=None, std=None):
    """Madry et al.'s MNIST CNN returning logits.

    Args:
        num_classes: number of classes.
        input_shape: `(height, width, channels)` of [0, 1] images.
        width: channel and unit multiplier.
        insert: `{stage: factory}`, stages `STAGES`; see `insertion.py`.
        mean, std: input normalisation, default by channel count (pass
            `mean=0, std=1` for the challenge's raw-pixel model).
    """
    inputs, x, stages = base.begin(
        "mnist_cnn", STAGES, num_classes, input_shape, width, insert, mean, std
    )
    x = keras.layers.Conv2D(
        base.scaled(32, width), 5, padding="same", activation="relu", name="conv1"
    )(x)
    x = stages(keras.layers.MaxPooling2D(2, padding="same", name="pool1")(x), "stage1")
    x = keras.layers.Conv2D(
        base.scaled(64, width), 5, padding="same", activation="relu", name="conv2"
    )(x)
    x = stages(keras.layers.MaxPooling2D(2, padding="same", name="pool2")(x), "stage2")
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(base.scaled(1024, width), activation="relu", name="fc1")(x)
    return base.finish("mnist_cnn", inputs, x, num_classes, stages)
