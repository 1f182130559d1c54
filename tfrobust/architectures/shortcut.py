"""He et al.'s option-A shortcut: subsample, then zero-pad the new channels.

The CIFAR ResNet-20/32/56 of the paper add no parameters on the shortcut
(0.27M for ResNet-20); a 1x1 projection (option B) would add about 1%.
"""

import keras
from keras import ops

from tfrobust.argument_validation import check_int


@keras.saving.register_keras_serializable(package="tfrobust")
class ZeroPadShortcut(keras.layers.Layer):
    """Take every `strides`-th pixel and zero-pad channels up to `filters`.

    The padding is split evenly before and after the existing channels, as in
    the widely used CIFAR reimplementation (akamaster/pytorch_resnet_cifar10).

    Args:
        filters: output channels, at least the input's.
        strides: spatial subsampling factor.
        **kwargs: standard `keras.layers.Layer` arguments.

    Example:
        >>> y = ZeroPadShortcut(filters=8, strides=2)(keras.ops.ones((1, 4, 4, 4)))
        >>> tuple(y.shape)
        (1, 2, 2, 8)
    """

    def __init__(self, filters, strides=2, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_int("filters", filters)
        self.strides = check_int("strides", strides)

    def build(self, input_shape):
        if input_shape[-1] > self.filters:
            raise ValueError(
                f"Cannot pad {input_shape[-1]} channels down to {self.filters}. "
                f"Received: input_shape={tuple(input_shape)}, filters={self.filters}"
            )

    def call(self, inputs):
        s = self.strides
        x = inputs[:, ::s, ::s, :]
        extra = self.filters - inputs.shape[-1]
        before = extra // 2
        return ops.pad(x, [[0, 0], [0, 0], [0, 0], [before, extra - before]])

    def compute_output_shape(self, input_shape):
        def sub(d):
            return None if d is None else -(-d // self.strides)

        return (input_shape[0], sub(input_shape[1]), sub(input_shape[2]), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "strides": self.strides}
