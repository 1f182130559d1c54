"""SGD with the papers' weight decay: an L2 term added to the gradient, before momentum.

The defenses we reproduce were trained with PyTorch's `SGD(weight_decay=...)`
(or TensorFlow code adding an L2 loss), where `weight_decay * w` joins the
gradient and so passes through the momentum buffer. Keras's own
`weight_decay` is decoupled (`w -= lr * weight_decay * w` after the step): at
momentum 0.9 the same number regularises about ten times less. Recipes copy
the papers' numbers, so they train with this optimizer.
"""

import keras

from tfrobust.argument_validation import check_number


@keras.saving.register_keras_serializable(package="tfrobust")
class L2SGD(keras.optimizers.SGD):
    """`keras.optimizers.SGD` whose `l2` adds `l2 * w` to every gradient (PyTorch's weight decay).

    Args:
        learning_rate, momentum, nesterov: as in `keras.optimizers.SGD`.
        l2: coefficient of the coupled weight decay (PyTorch's `weight_decay`),
            applied to every trainable variable, as PyTorch does by default.

    Example:
        >>> # torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=5e-4):
        >>> opt = L2SGD(0.1, momentum=0.9, l2=5e-4)
    """

    def __init__(
        self, learning_rate=0.01, momentum=0.0, nesterov=False, l2=0.0, name="l2_sgd", **kwargs
    ):
        if kwargs.get("weight_decay"):
            raise ValueError(
                "L2SGD takes `l2` (coupled); Keras's decoupled `weight_decay` "
                "would decay the weights twice"
            )
        super().__init__(learning_rate, momentum=momentum, nesterov=nesterov, name=name, **kwargs)
        self.l2 = check_number("l2", l2, minimum=0)

    def apply(self, grads, trainable_variables=None):
        if self.l2:
            variables = (
                self._trainable_variables if trainable_variables is None else trainable_variables
            )
            grads = [
                g if g is None else g + self.l2 * keras.ops.cast(v, g.dtype)
                for g, v in zip(grads, variables)
            ]
        return super().apply(grads, trainable_variables)

    def get_config(self):
        return {**super().get_config(), "l2": self.l2}
