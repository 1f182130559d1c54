"""CIFS (Yan et al., ICML 2021): scale each channel by its relevance to the prediction.

Adversarial examples over-activate channels that argue against the predicted
class and under-activate those that argue for it. CIFS puts a probe classifier
`A^l` (global pooling + Dense) on a layer's features `z`, measures each
channel's relevance `g` as the gradient of the probe's top-k logits with
respect to a channel-wise shift of `z` (at zero), and multiplies the channels
by an importance mask `m = IMGF(g)`, which suppresses negatively relevant
channels and promotes positively relevant ones: `z~ = z * m`.

The paper trains with
`l_beta = 1/(1+beta) CE(p) + beta/((1+beta)|I|) sum_{l in I} CE(p^l)`,
`beta = |I|`. The objective of `tfrobust.training.adversarial` already has
`CE(p)` (weight 1), so each CIFS layer adds `loss_weight * CE(p^l)` with
`loss_weight = beta/|I|` (= 1 for `beta = |I|`, the default): the total is
`(1+beta) * l_beta`, the paper's loss times a constant, which SGD absorbs into
the learning rate. The reference code (HanshuYAN/CIFS, `CIFAR10_Res18_CIFS.py`,
`joint_CE_loss`) computes `(CE(p) + beta/|I| sum CE(p^l)) * 3/(beta+1)` with
`beta = 2`, `|I| = 2`: exactly our total, `CE(p) + CE(p^1) + CE(p^2)`.

The reference also attacks that joint loss, in training and in its evaluation
(`CIFAR10_Res18_CIFS_test.py`, `beta_atk = 2`). Each CIFS layer hands its
probe logits to `tfrobust.layers.auxiliary_logits_scope()`;
`tfrobust.attacks.joint_loss.JointLossPGD` (evaluation name `"joint-pgd"`, the
layer's adaptive attack) ascends `CE(p) + beta/|I| sum CE(p^l)` with them.
"""

import keras
from keras import ops

from tfrobust import backend
from tfrobust.argument_validation import check_choice
from tfrobust.argument_validation import check_int
from tfrobust.argument_validation import check_number
from tfrobust.labels import require_labels
from tfrobust.layers import auxiliary_logits

IMGFS = ("softmax", "softplus", "sigmoid")


@keras.saving.register_keras_serializable(package="tfrobust")
class CIFS(keras.layers.Layer):
    """Channel-wise Importance-based Feature Selection after a layer.

    Relevance: `g = d/d delta sum_{i in top-k} A(z + delta)[i]` at `delta = 0`,
    `delta` one shift per channel (the spatial sum of the gradient). In
    training the true label replaces the probe's first choice, as in the
    reference implementation (HanshuYAN/CIFS, `models/nets/resnet_CIFS.py`,
    `CIFS._get_mask_with_graph`): the label plus the classes the probe ranks
    2nd to `top_k`-th (the label's logit counts twice when the probe ranks it
    2nd, and the probe's first choice is left out when it is wrong, both as
    there). As there, `z` enters the relevance through `stop_gradient`, while
    the probe's weights get the gradient through the mask (second order) as
    well as from its own cross-entropy. Attacks that should see the probes
    (the reference's joint loss) read them with `auxiliary_logits_scope()`.

    Importance-mask generating functions (IMGF), temperature `T`:
    softmax `exp(g/T) / sum exp(g/T)`; softplus `T log(1 + exp(g/T))` (the
    paper's `alpha = 1/T`); sigmoid `1 / (1 + exp(-g/T))`. The mask is then
    multiplied by `scale`. The reference ResNet-18 (`resnet_CIFS.py` at its
    last commit, with its kept log `PAT_Res18_cifar10_CIFS`) uses the plain
    softmax, `T = 1`, `scale = 1`; earlier commits multiplied it by 2.

    In training mode the layer adds `loss_weight * CE(A(z), y)` (see the
    module docstring for the paper's weights), reading `y` from
    `tfrobust.labels.current_labels()`: train with `tfrobust.training.adversarial`.

    Args:
        num_classes: classes of the probe (the network's classes).
        top_k: logits whose relevance is summed (paper and reference: 2).
        imgf: "softmax" (the paper's best), "softplus" or "sigmoid".
        temperature: `T` of the IMGF, > 0.
        scale: factor applied to the mask, > 0.
        hidden_units: `None` for the paper's linear probe (pooling + Dense);
            an integer adds a hidden Dense with softplus (beta = 5), the
            reference's "nonlinear" probe (128 units in ResNet-18's layer4).
        loss_weight: weight of the probe's cross-entropy, `beta / |I|`.

    Call arguments:
        inputs: `(batch, ..., channels)` features, e.g. a stage's feature map.
        training: add the probe loss and use the labels (True) or not.

    Example:
        >>> from tfrobust import architectures
        >>> model = architectures.get(
        ...     "resnet20", width=0.25, input_shape=(16, 16, 3),
        ...     insert=architectures.cifs_insert("resnet20", num_classes=10))
        >>> model.get_layer("stage3_insert").imgf
        'softmax'

    Reference:
        Yan, Zhang, Niu, Feng, Tan, Sugiyama. "CIFS: Improving Adversarial
        Robustness of CNNs via Channel-wise Importance-based Feature
        Selection", ICML 2021, Sec. 4, Eq. 1.
    """

    adds_loss = True
    adaptive_attacks = ("joint-pgd",)  # the reference's joint-loss evaluation

    def __init__(
        self,
        num_classes,
        top_k=2,
        imgf="softmax",
        temperature=1.0,
        scale=1.0,
        hidden_units=None,
        loss_weight=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_int("num_classes", num_classes, minimum=2)
        check_int("top_k", top_k, maximum=num_classes, hint=" (at most num_classes)")
        check_choice("imgf", imgf, IMGFS)
        check_number("temperature", temperature, minimum=0, exclusive_minimum=True)
        check_number("scale", scale, minimum=0, exclusive_minimum=True)
        check_int("hidden_units", hidden_units, allow_none=True)
        check_number("loss_weight", loss_weight, minimum=0)
        self.num_classes = num_classes
        self.top_k = top_k
        self.imgf = imgf
        self.temperature = temperature
        self.scale = scale
        self.hidden_units = hidden_units
        self.loss_weight = loss_weight
        self.probe_hidden = None
        if hidden_units is not None:
            self.probe_hidden = keras.layers.Dense(
                hidden_units, dtype=self.dtype_policy, name="probe_hidden"
            )
        self.probe = keras.layers.Dense(num_classes, dtype=self.dtype_policy, name="probe")

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                "CIFS takes (batch, ..., channels) features with known channels. "
                f"Received: input_shape={input_shape}"
            )
        channels = input_shape[-1]
        if self.probe_hidden is not None:
            self.probe_hidden.build((None, channels))
            channels = self.hidden_units
        self.probe.build((None, channels))

    def probe_logits(self, z):
        """The probe's logits `p^l = A^l(z)`: global average pooling, then Dense layer(s)."""
        pooled = ops.mean(z, axis=tuple(range(1, len(z.shape) - 1))) if len(z.shape) > 2 else z
        if self.probe_hidden is not None:
            pooled = ops.softplus(5.0 * self.probe_hidden(pooled)) / 5.0
        return self.probe(pooled)

    def relevance(self, z, labels=None):
        """`g`, `(batch, channels)`: gradient of the selected probe logits w.r.t. a channel shift.

        The probe's top-k classes, or with `labels` the label and the probe's
        2nd to `top_k`-th classes (the reference's training-mode choice).
        """
        z = ops.stop_gradient(z)
        spatial = (1,) * (len(z.shape) - 2)

        def selected_logits(shift):
            logits = self.probe_logits(z + ops.reshape(shift, (-1, *spatial, shift.shape[-1])))
            chosen = ops.stop_gradient(self._selection(logits, labels))
            return ops.sum(logits * chosen)

        shift = ops.zeros_like(z[(slice(None),) + (0,) * len(spatial)])
        return backend.value_and_grad(selected_logits, shift)[1]

    def _selection(self, logits, labels):
        """`(batch, num_classes)` count of each class's logit in the sum (0, 1 or 2)."""
        if labels is None:
            return ops.sum(ops.one_hot(ops.top_k(logits, self.top_k)[1], self.num_classes), axis=1)
        label = ops.one_hot(
            ops.cast(ops.reshape(labels, (-1,)), "int32"), self.num_classes, dtype=logits.dtype
        )
        if self.top_k == 1:
            return label
        runners_up = ops.top_k(logits, self.top_k)[1][:, 1:]
        return label + ops.sum(
            ops.one_hot(runners_up, self.num_classes, dtype=logits.dtype), axis=1
        )

    def importance(self, g):
        """The mask `m = scale * IMGF(g)`, `(batch, channels)`."""
        t = self.temperature
        if self.imgf == "softmax":
            mask = ops.softmax(g / t, axis=-1)
        elif self.imgf == "softplus":
            mask = t * ops.softplus(g / t)
        else:
            mask = ops.sigmoid(g / t)
        return self.scale * mask

    def call(self, inputs, training=False):
        labels = None
        if training:
            labels = require_labels(self)
        mask = self.importance(self.relevance(inputs, labels))
        spatial = (1,) * (len(inputs.shape) - 2)
        outputs = inputs * ops.reshape(ops.cast(mask, inputs.dtype), (-1, *spatial, mask.shape[-1]))
        needs_loss = training and self.loss_weight
        if auxiliary_logits.collecting() or needs_loss:
            probe_logits = self.probe_logits(inputs)  # on the unmasked features, as the reference
            auxiliary_logits.emit(probe_logits)
            if needs_loss:
                ce = keras.losses.sparse_categorical_crossentropy(
                    labels, probe_logits, from_logits=True
                )
                self.add_loss(self.loss_weight * ops.mean(ce))
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "top_k": self.top_k,
                "imgf": self.imgf,
                "temperature": self.temperature,
                "scale": self.scale,
                "hidden_units": self.hidden_units,
                "loss_weight": self.loss_weight,
            }
        )
        return config
