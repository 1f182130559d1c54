"""Channel-wise Activation Suppressing (CAS), Bai et al., ICLR 2021.

Adversarial examples activate more channels, and more uniformly, than clean
ones. CAS learns which channels matter for each class with an auxiliary
linear head on globally pooled features and scales each channel by the head's
weight for the class: the true class in training, the head's predicted class
in inference (where labels are unknown, and where attacks run). Channels with
small or negative weights for the class are suppressed.

    p   = W^T GAP(f) + b          auxiliary head, W of shape (C, K)
    out = f * W[:, k]             k = y (training), argmax p (inference)
    loss += beta / num_layers * CE(p, y)

The CAS objective is L_cls + beta/K * sum over the K CAS layers of
CE(p_k, y), with beta = 2 (paper and reference code); `architectures.cas_insert` sets
`num_layers` = K. The reference ResNet-18 (github.com/bymavis/CAS_ICLR2021)
applies CAS at the output of both blocks of stage 4; the closest place our
stage insertion offers is after stage 4 (K = 1). The head's logits go to
`tfrobust.layers.auxiliary_logits_scope()`, so `attacks.JointLossPGD` ascends
the head's loss with the output's: the reference's training attack (in
inference mode, beta 2; recipe name `cifs_joint`) and the layer's adaptive
attack (`joint-pgd`). In training the output depends on the label, in the
reference too, so adversarial accuracy measured on the training pass reads
near 100%; judge a run by inference-mode (validation) metrics.
"""

import keras
from keras import ops

from tfrobust.argument_validation import check_int
from tfrobust.argument_validation import check_number
from tfrobust.labels import require_labels
from tfrobust.layers import auxiliary_logits


@keras.saving.register_keras_serializable(package="tfrobust")
class CAS(keras.layers.Layer):
    """Channel-wise Activation Suppressing of a feature map.

    In training mode the channels are reweighted by the head's weights for the
    true class and the auxiliary cross-entropy is added with `add_loss`; the
    labels come from `tfrobust.labels.label_scope` (train with
    `tfrobust.training.adversarial`). In inference mode the predicted class is
    used and nothing is added.

    Args:
        channels: int, channels of the input (last axis).
        num_classes: int, classes of the auxiliary head.
        beta: float >= 0, weight of the CAS loss. Defaults to 2.0 (the paper).
        num_layers: int, the number K of CAS layers in the model; the loss is
            divided by it. Defaults to 1. `cas_insert` sets it.
        **kwargs: `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: features `(batch, ..., channels)`, e.g. a feature map
            `(batch, height, width, channels)`.
        training: bool; true-class reweighting and the loss when `True`.

    Example:
        >>> from tfrobust import architectures
        >>> from tfrobust.architectures import cas_insert
        >>> model = architectures.get(
        ...     "resnet18", num_classes=10, width=0.25, insert=cas_insert("resnet18", 10))
        >>> model.get_layer("stage4_insert").channels
        128

    Reference:
        Bai, Zeng, Jiang, Xia, Ma, Wang. "Improving Adversarial Robustness via
        Channel-wise Activation Suppressing", ICLR 2021; code:
        github.com/bymavis/CAS_ICLR2021.
    """

    adds_loss = True
    adaptive_attacks = ("joint-pgd",)  # the head's class choice blocks the logits' gradient

    def __init__(self, channels, num_classes=10, beta=2.0, num_layers=1, **kwargs):
        super().__init__(**kwargs)
        check_int("channels", channels)
        check_int("num_classes", num_classes)
        check_number("beta", beta, minimum=0)
        check_int("num_layers", num_layers)
        self.channels = int(channels)
        self.num_classes = int(num_classes)
        self.beta = float(beta)
        self.num_layers = int(num_layers)
        self.head = keras.layers.Dense(self.num_classes, name="cas_head", dtype=self.dtype_policy)

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] != self.channels:
            raise ValueError(
                f"CAS expects features (batch, ..., {self.channels}). "
                f"Received: input_shape={tuple(input_shape)}"
            )
        self.head.build((input_shape[0], self.channels))

    def head_logits(self, inputs):
        """The auxiliary head's logits on the globally pooled features."""
        pooled = ops.mean(inputs, axis=tuple(range(1, len(inputs.shape) - 1)))
        return self.head(pooled)

    def call(self, inputs, training=False):
        logits = self.head_logits(inputs)
        auxiliary_logits.emit(logits)
        if training:
            labels = ops.cast(ops.reshape(require_labels(self), (-1,)), "int32")
            loss = ops.mean(
                keras.losses.sparse_categorical_crossentropy(
                    labels, ops.cast(logits, "float32"), from_logits=True
                )
            )
            self.add_loss(self.beta * loss / self.num_layers)
        else:
            labels = ops.argmax(logits, axis=-1)
        # Row k of W^T: the channel weights of class k, one row per example.
        channel_weights = ops.take(ops.transpose(self.head.kernel), labels, axis=0)
        broadcast = (-1,) + (1,) * (len(inputs.shape) - 2) + (self.channels,)
        return inputs * ops.cast(ops.reshape(channel_weights, broadcast), inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "channels": self.channels,
                "num_classes": self.num_classes,
                "beta": self.beta,
                "num_layers": self.num_layers,
            }
        )
        return config
