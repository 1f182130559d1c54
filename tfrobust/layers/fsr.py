"""Feature Separation and Recalibration (FSR), Kim et al., CVPR 2023.

Defenses such as CAS and CIFS switch off the feature activations an attack
corrupts. FSR argues those activations still carry class cues: it separates a
feature map into a robust part and a non-robust part with a learned soft mask,
and recalibrates the non-robust part instead of discarding it:

    r   = S(f)                                    robustness map
    m+  = GumbelSoftmax(log s(r), log(1 - s(r)); tau),   m- = 1 - m+
    f+  = m+ * f,   f- = m- * f
    f~- = f- + m- * R(f-)
    out = f+ + f~-

Auxiliary losses (through a small head `aux = Dense(GAP(.))`) train S and R:
L_sep = CE(aux(f+), y) + CE(aux(f-), y') with y' the most confident wrong
class of the whole model's prediction, and L_rec = CE(aux(f~-), y). The model's loss is
L_cls + 1/|L| * sum over FSR layers of (lambda_sep L_sep + lambda_rec L_rec):
each layer adds its own term divided by `num_layers` (|L|), which
`architectures.fsr_insert` sets to the number of stages it inserts at.

Choices where the paper leaves room, and their sources:
- S and R, the head, tau = 0.1 and lambda_sep = lambda_rec = 1 follow the
  reference code (github.com/wkim97/FSR): +1,259,018 trainable parameters
  after block 4 of CIFAR ResNet-18, the paper's +1.26M (Table 7).
- y' is the model's most confident wrong class (the reference's `get_pred`:
  the second-ranked class where the top one is y, else the top one). The
  layer cannot see the model's output, so it registers its loss with
  `tfrobust.labels.add_output_loss`, and `AdversarialModel` evaluates it on the
  output of the same training pass.
- `AdversarialModel` counts defense-layer losses on the adversarial pass only
  (on the clean one for objectives without an attack), as the reference
  trains: under TRADES and MART, the clean pass adds nothing.
"""

import keras
from keras import ops

from tfrobust.argument_validation import check_bool
from tfrobust.argument_validation import check_choice
from tfrobust.argument_validation import check_int
from tfrobust.argument_validation import check_number
from tfrobust.labels import add_output_loss
from tfrobust.labels import require_labels
from tfrobust.layers import auxiliary_logits

# Keeps the uniform sample of the Gumbel noise away from 0 and 1.
_EPSILON = 1e-7


def _conv_net(channels, hidden_channels, name, dtype):
    """S and R of the reference code: conv3x3-BN-ReLU twice, then conv3x3 back to C."""

    def conv(filters, suffix):
        return keras.layers.Conv2D(
            filters,
            3,
            padding="same",
            use_bias=False,
            kernel_initializer="he_uniform",
            name=f"{name}_{suffix}",
            dtype=dtype,
        )

    def batch_norm(suffix):
        # PyTorch's defaults, as in the backbones (`architectures/base.py`).
        return keras.layers.BatchNormalization(
            momentum=0.9, epsilon=1e-5, name=f"{name}_{suffix}", dtype=dtype
        )

    return keras.Sequential(
        [
            conv(hidden_channels, "conv1"),
            batch_norm("bn1"),
            keras.layers.ReLU(dtype=dtype),
            conv(hidden_channels, "conv2"),
            batch_norm("bn2"),
            keras.layers.ReLU(dtype=dtype),
            conv(channels, "conv3"),
        ],
        name=name,
    )


@keras.saving.register_keras_serializable(package="tfrobust")
class FSR(keras.layers.Layer):
    """Feature Separation and Recalibration of a feature map.

    In training mode it adds `(lambda_sep * L_sep + lambda_rec * L_rec) /
    num_layers` and needs the batch labels and the model's output: train
    with `tfrobust.training.adversarial`, which runs training passes inside
    `tfrobust.labels.label_scope(y)` and adds the pass's `output_losses`. In
    inference mode (where attacks run) the Gumbel noise is off, so the mask is
    the deterministic `sigmoid(r / tau)`,
    as in the reference code, and no loss is added. The auxiliary head's logits
    on f+ and f~- (the parts it is trained to classify correctly) go to
    `tfrobust.layers.auxiliary_logits_scope()`: the layer's adaptive attack
    (`joint-pgd`) ascends their loss with the output's.

    Ablations of the paper (Table 6, Table A6):
    - `separation=False` ("w/o Sep"): no separation net and no mask; the whole
      feature is recalibrated, `out = f + R(f)`, and only `L_rec` is added.
    - `recalibration=False` ("w/o Rec"): the non-robust part is deactivated as
      in earlier defenses, `out = f+`, and only `L_sep` is added.
    - both off: the identity, with no weights and no loss.
    - `mask="binary"`: a hard 0/1 mask (the rounded Gumbel sample, i.e. a
      Bernoulli(sigmoid(r)) draw, in training; `r > 0` in inference), with
      the soft mask's gradient (straight-through) so that S still learns.

    Args:
        channels: int, channels of the input feature map (`factory(name,
            channels)` in `tfrobust.architectures` passes it).
        num_classes: int >= 2, classes of the auxiliary head.
        hidden_channels: int, width of S and R. Defaults to 64 (reference code).
        tau: float > 0, Gumbel-softmax temperature; the mask tends to binary
            as `tau -> 0`. Defaults to 0.1 (reference code).
        lambda_sep: float >= 0, weight of `L_sep`. Defaults to 1.0 (reference).
        lambda_rec: float >= 0, weight of `L_rec`. Defaults to 1.0 (reference).
        num_layers: int, |L|, the number of FSR layers in the model; the added
            loss is divided by it (Eq. 5). Defaults to 1. `fsr_insert` sets it.
        separation: bool, keep the separation stage. Defaults to `True`.
        recalibration: bool, keep the recalibration stage. Defaults to `True`.
        mask: `"gumbel"` (the paper) or `"binary"` (its ablation).
        seed: int or `None`, seed of the Gumbel noise's `SeedGenerator`.
        **kwargs: `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: feature map `(batch, height, width, channels)`.
        training: bool; adds the losses and samples Gumbel noise when `True`.

    Example:
        >>> from tfrobust import architectures, attacks, objectives
        >>> from tfrobust.architectures import fsr_insert
        >>> from tfrobust.training import adversarial
        >>> model = architectures.get(
        ...     "resnet18", num_classes=10, width=0.25,
        ...     insert=fsr_insert("resnet18", 10))
        >>> robust = adversarial(model, objectives.PGDAT(),
        ...                      attacks.PGD(eps=8 / 255, steps=10))

    Reference:
        Kim, Cho, Jung, Yoon. "Feature Separation and Recalibration for
        Adversarial Robustness", CVPR 2023; code: github.com/wkim97/FSR.
    """

    adds_loss = True
    adaptive_attacks = ("joint-pgd",)  # output and heads attacked together

    def __init__(
        self,
        channels,
        num_classes=10,
        hidden_channels=64,
        tau=0.1,
        lambda_sep=1.0,
        lambda_rec=1.0,
        num_layers=1,
        separation=True,
        recalibration=True,
        mask="gumbel",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_int("channels", channels)
        check_int("num_classes", num_classes, minimum=2, hint=" (L_sep needs a wrong class)")
        check_int("hidden_channels", hidden_channels)
        check_number("tau", tau, minimum=0, exclusive_minimum=True)
        check_number("lambda_sep", lambda_sep, minimum=0)
        check_number("lambda_rec", lambda_rec, minimum=0)
        check_int("num_layers", num_layers, hint=" (|L| in Eq. 5)")
        check_bool("separation", separation)
        check_bool("recalibration", recalibration)
        check_choice("mask", mask, ("gumbel", "binary"))
        self.channels = int(channels)
        self.num_classes = int(num_classes)
        self.hidden_channels = int(hidden_channels)
        self.tau = float(tau)
        self.lambda_sep = float(lambda_sep)
        self.lambda_rec = float(lambda_rec)
        self.num_layers = int(num_layers)
        self.separation = separation
        self.recalibration = recalibration
        self.mask = mask
        self.seed = seed

        policy = self.dtype_policy
        self.separation_net = (
            _conv_net(self.channels, self.hidden_channels, "separation_net", policy)
            if separation
            else None
        )
        self.recalibration_net = (
            _conv_net(self.channels, self.hidden_channels, "recalibration_net", policy)
            if recalibration
            else None
        )
        # One head for p+, p- and p~-, as in the reference code.
        self.aux_head = (
            keras.layers.Dense(self.num_classes, name="aux_head", dtype=policy)
            if separation or recalibration
            else None
        )
        self.seed_generator = keras.random.SeedGenerator(seed) if separation else None

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] != self.channels:
            raise ValueError(
                f"{type(self).__name__} expects feature maps (batch, height, width, "
                f"{self.channels}). Received: input_shape={tuple(input_shape)}"
            )
        for net in (self.separation_net, self.recalibration_net):
            if net is not None:
                net.build(input_shape)
        if self.aux_head is not None:
            self.aux_head.build((input_shape[0], self.channels))

    def robust_mask(self, inputs, training=False):
        """m+ in (0, 1) (or {0, 1} for `mask="binary"`), shaped like `inputs`."""
        if not self.separation:
            raise ValueError("This FSR layer has no mask. Received: separation=False")
        logits = self.separation_net(inputs, training=training)  # r
        if training:
            # log s(r) - log(1 - s(r)) = r, so Eq. 2 is sigmoid((r + g1 - g2) / tau).
            g1, g2 = self._gumbel(ops.shape(logits)), self._gumbel(ops.shape(logits))
            logits = logits + ops.cast(g1 - g2, logits.dtype)
        soft = ops.sigmoid(logits / self.tau)
        if self.mask == "gumbel":
            return soft
        hard = ops.cast(logits > 0, soft.dtype)
        return soft + ops.stop_gradient(hard - soft)

    def _gumbel(self, shape):
        u = keras.random.uniform(
            shape, minval=_EPSILON, maxval=1.0 - _EPSILON, seed=self.seed_generator
        )
        return -ops.log(-ops.log(u))

    def separate(self, inputs, training=False):
        """Every intermediate of the forward pass, for analysis (k-NN, plots).

        Returns a dict of tensors shaped like `inputs`: `"robust_mask"` (m+),
        `"robust"` (f+), `"non_robust"` (f-), `"recalibrated"` (f~-, or f-
        without recalibration) and `"outputs"` (what `call` returns).
        """
        inputs = ops.convert_to_tensor(inputs, dtype=self.compute_dtype)
        if not self.built:
            self.build(inputs.shape)
        if self.separation:
            robust_mask = self.robust_mask(inputs, training=training)
        else:
            robust_mask = ops.zeros_like(inputs)
        non_robust_mask = 1.0 - robust_mask
        robust = robust_mask * inputs
        non_robust = non_robust_mask * inputs
        recalibrated = non_robust
        if self.recalibration:
            recalibrated = non_robust + non_robust_mask * self.recalibration_net(
                non_robust, training=training
            )
        if self.recalibration:
            outputs = robust + recalibrated if self.separation else recalibrated
        else:
            outputs = robust if self.separation else inputs
        return {
            "robust_mask": robust_mask,
            "robust": robust,
            "non_robust": non_robust,
            "recalibrated": recalibrated,
            "outputs": outputs,
        }

    def call(self, inputs, training=False):
        parts = self.separate(inputs, training=training)
        if auxiliary_logits.collecting() and self.aux_head is not None:
            for key in self._heads_on_true_class():
                auxiliary_logits.emit(self._aux_logits(parts[key]))
        if training and self.aux_head is not None:
            labels = ops.cast(ops.reshape(require_labels(self), (-1,)), "int32")
            aux_logits = {key: self._aux_logits(parts[key]) for key in self._aux_parts()}
            add_output_loss(self, lambda logits: self.aux_loss(aux_logits, labels, logits))
        return parts["outputs"]

    def _aux_parts(self):
        return (("robust", "non_robust") if self.separation else ()) + (
            ("recalibrated",) if self.recalibration else ()
        )

    def _heads_on_true_class(self):
        """The parts whose head is trained towards y (f+ and f~-): an adaptive attack ascends
        their loss; the non-robust part's head is trained towards a wrong class already."""
        return (("robust",) if self.separation else ()) + (
            ("recalibrated",) if self.recalibration else ()
        )

    def _aux_logits(self, features):
        return ops.cast(self.aux_head(ops.mean(features, axis=(1, 2))), "float32")

    def aux_loss(self, aux_logits, labels, model_logits):
        """`(lambda_sep L_sep + lambda_rec L_rec) / num_layers` (Eq. 5).

        Args:
            aux_logits: the head's logits on the parts in `_aux_parts()`.
            labels: integer labels `(batch,)`.
            model_logits: the whole model's output, which gives y'.
        """

        def cross_entropy(logits, target):
            return ops.mean(
                keras.losses.sparse_categorical_crossentropy(target, logits, from_logits=True)
            )

        loss = ops.zeros((), "float32")
        if self.separation:
            true = ops.one_hot(labels, self.num_classes)
            wrong = ops.argmax(
                ops.where(true > 0, -1e9, ops.cast(model_logits, "float32")), axis=-1
            )
            separation_loss = cross_entropy(aux_logits["robust"], labels) + cross_entropy(
                aux_logits["non_robust"], ops.stop_gradient(wrong)
            )
            loss = loss + self.lambda_sep * separation_loss
        if self.recalibration:
            loss = loss + self.lambda_rec * cross_entropy(aux_logits["recalibrated"], labels)
        return loss / self.num_layers

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "channels": self.channels,
                "num_classes": self.num_classes,
                "hidden_channels": self.hidden_channels,
                "tau": self.tau,
                "lambda_sep": self.lambda_sep,
                "lambda_rec": self.lambda_rec,
                "num_layers": self.num_layers,
                "separation": self.separation,
                "recalibration": self.recalibration,
                "mask": self.mask,
                "seed": self.seed,
            }
        )
        return config
