"""Standard CIFAR augmentation with Keras core layers: pad-and-crop, flip.

`keras.layers.RandomCrop` draws one offset per call, so it is applied per image
(before batching) to give every image its own crop. `keras-cv` is deprecated;
these layers are its replacement in Keras core.
"""

import keras


def augmenter(image_shape, seed=0, padding=4, flip=True):
    """A per-image `tf.data` map function: zero-pad by `padding`, crop back, flip."""
    import tensorflow as tf

    height, width, _ = image_shape
    crop = keras.layers.RandomCrop(height, width, seed=seed)
    flipper = keras.layers.RandomFlip("horizontal", seed=seed + 1) if flip else None

    def apply(x, y):
        x = tf.pad(x, [[padding, padding], [padding, padding], [0, 0]])
        x = crop(x, training=True)
        if flipper is not None:
            x = flipper(x, training=True)
        return x, y

    return apply
