"""Feature denoising (Xie et al., CVPR 2019): denoise a stage's features inside the network.

Adversarial noise that is imperceptible in pixels grows into large spurious
activations in feature maps. A denoising block filters a feature map, lets a
1x1 convolution (then BatchNorm) choose how much of the filtered signal to keep,
and adds it back to the input: `y = x + BN(conv1x1(denoise(x)))`. The BN's gamma
starts at zero, so a freshly inserted block is the identity and does not
disturb the network it is put into. The paper inserts one block after each
residual stage (res2 to res5); `tfrobust.architectures.denoising_insert(arch)`
does that for any architecture.
"""

import keras

from tfrobust.argument_validation import check_choice
from tfrobust.argument_validation import check_int
from tfrobust.layers import denoising_ops

OPERATIONS = ("nonlocal", "bilateral", "mean", "median", "null")

# The architectures' BatchNorm settings (PyTorch's defaults).
_BN_MOMENTUM = 0.9
_BN_EPSILON = 1e-5


@keras.saving.register_keras_serializable(package="tfrobust")
class DenoisingBlock(keras.layers.Layer):
    """Denoising operation + 1x1 conv + BN (gamma zero-initialised) + residual.

    Defaults are the paper's main model and the reference implementation
    (facebookresearch/ImageNet-Adversarial-Training, `resnet_model.denoising`):
    non-local means with Gaussian (softmax) weights on embeddings `theta`,
    `phi` (1x1 convs to `channels // 2`, no bias, N(0, 0.01) init), the
    averaged features `x` themselves, a bias-free 1x1 conv and BN with gamma
    initialised to zero. `use_conv=False` and `residual=False` are the
    paper's Table 1 ablations (`y = x + denoise(x)` and
    `y = BN(conv1x1(denoise(x)))`; without the residual the BN's gamma starts
    at one, since zero would cut the signal for good). `operation="null"`
    is the paper's "1x1 only" control block.

    Args:
        channels: channels of the input (and output) feature map.
        operation: "nonlocal" (non-local means), "bilateral" (non-local means
            within a `kernel_size` window), "mean" or "median" (per-channel
            filters over the window), or "null" (no denoising).
        weighting: "gaussian" (softmax of `theta . phi / sqrt(d)`) or
            "dot_product" (`theta . phi` divided by the number of positions),
            for "nonlocal" and "bilateral".
        embed: compare 1x1-conv embeddings (`channels // 2`) rather than the
            features themselves, for "nonlocal" and "bilateral".
        kernel_size: odd window size of "bilateral", "mean" and "median".
        use_conv: keep the 1x1 conv + BN after the operation.
        residual: add the input back.

    Call arguments:
        inputs: `(batch, height, width, channels)` feature map.
        training: BatchNorm mode.

    Example:
        >>> from tfrobust import architectures
        >>> model = architectures.get(
        ...     "resnet20", width=0.25, input_shape=(16, 16, 3),
        ...     insert=architectures.denoising_insert("resnet20", operation="median"))
        >>> model.get_layer("stage1_insert").operation
        'median'

    Reference:
        Xie, Wu, van der Maaten, Yuille, He. "Feature Denoising for Improving
        Adversarial Robustness", CVPR 2019, Sec. 4 and Table 1.
    """

    adaptive_attacks = ("pgd-random-target",)  # the paper's evaluation: targeted PGD

    def __init__(
        self,
        channels,
        operation="nonlocal",
        weighting="gaussian",
        embed=True,
        kernel_size=3,
        use_conv=True,
        residual=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_int("channels", channels)
        check_choice("operation", operation, OPERATIONS)
        check_choice("weighting", weighting, denoising_ops.WEIGHTINGS)
        kernel_size = denoising_ops.check_kernel_size(kernel_size)
        if not use_conv and not residual:
            raise ValueError(
                "A block with neither the 1x1 conv nor the residual is a bare filter; "
                "keep at least one. Received: use_conv=False, residual=False"
            )
        self.channels = channels
        self.operation = operation
        self.weighting = weighting
        self.embed = embed
        self.kernel_size = kernel_size
        self.use_conv = use_conv
        self.residual = residual

        self.theta = self.phi = None
        if embed and operation in ("nonlocal", "bilateral"):
            self.theta = self._embedding("theta")
            self.phi = self._embedding("phi")
        self.conv = self.bn = None
        if use_conv:
            self.conv = keras.layers.Conv2D(
                channels,
                1,
                use_bias=False,
                kernel_initializer="he_uniform",
                dtype=self.dtype_policy,
                name="conv",
            )
            self.bn = keras.layers.BatchNormalization(
                momentum=_BN_MOMENTUM,
                epsilon=_BN_EPSILON,
                gamma_initializer="zeros" if residual else "ones",
                dtype=self.dtype_policy,
                name="bn",
            )

    def _embedding(self, name):
        return keras.layers.Conv2D(
            max(1, self.channels // 2),
            1,
            use_bias=False,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
            dtype=self.dtype_policy,
            name=f"embedding_{name}",
        )

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] != self.channels:
            raise ValueError(
                f"DenoisingBlock(channels={self.channels}) takes (batch, height, width, "
                f"{self.channels}) feature maps. Received: input_shape={input_shape}"
            )
        for layer in (self.theta, self.phi, self.conv, self.bn):
            if layer is not None and not layer.built:
                layer.build(input_shape)

    def denoise(self, x):
        """The denoising operation alone (the blue box of the paper's Fig. 4)."""
        if self.operation in ("nonlocal", "bilateral"):
            theta = self.theta(x) if self.theta is not None else None
            phi = self.phi(x) if self.phi is not None else None
            if self.operation == "nonlocal":
                return denoising_ops.nonlocal_means(x, theta, phi, self.weighting)
            return denoising_ops.bilateral_filter(x, theta, phi, self.weighting, self.kernel_size)
        if self.operation == "mean":
            return denoising_ops.mean_filter(x, self.kernel_size)
        if self.operation == "median":
            return denoising_ops.median_filter(x, self.kernel_size)
        return x

    def call(self, inputs, training=False):
        y = self.denoise(inputs)
        if self.use_conv:
            y = self.bn(self.conv(y), training=training)
        return inputs + y if self.residual else y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "channels": self.channels,
                "operation": self.operation,
                "weighting": self.weighting,
                "embed": self.embed,
                "kernel_size": self.kernel_size,
                "use_conv": self.use_conv,
                "residual": self.residual,
            }
        )
        return config
