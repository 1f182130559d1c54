"""SAT (Mangla et al. 2020): saliency-initialised PGD and its alpha^t schedule.

For a binary classifier the smallest perturbation that flips the label points
along minus the saliency map (the input gradient of the true logit); SAT
uses that for every class. Each coordinate of the starting perturbation is
random sign noise with probability alpha^t (t the training epoch, so
training starts from noise, as PGD's own perturbations do early on) and
otherwise the negative thresholded saliency, all scaled to eps:

    delta[i] = eps * z[i]     with probability alpha^t,  z[i] in {-1, +1}
    delta[i] = -eps * s[i]    otherwise,                 s = threshold(saliency) in {-1, +1}

In our API SAT is not an objective but this attack, `SaliencyPGD`, paired
with an existing objective: PGD-SAT is `PGDAT` with it, TRADES-SAT is
`TRADES` with it (the attack then ascends TRADES's KL term), plain SAT is
`PGDAT` with `steps=0` (the start is the training example). The schedule is
`SATSchedule`, a callback that the attack hands to `AdversarialModel.fit`
(`Attack.training_callbacks`), so any model trained against it follows
alpha^t.

Where the map comes from: the paper's tables use maps fixed before training,
weak saliency from bounding boxes or segmentation masks (Tiny-ImageNet,
Flower-17) or the maps of a fixed pretrained model (CIFAR-100: GBP,
SmoothGrad, Guided Grad-CAM++, Integrated Gradients of a standard or
adversarially trained ResNet-10), which `saliency.precompute` (or, cached for
a dataset, `saliency.cache.cached_maps`) computes once. Those travel with the
data (`{"image": x, "saliency": s}`; in a recipe, `saliency: {source: model}`
or `{source: files}`, with `saliency=None` here so that a batch without maps
is an error). `saliency="gradient"` (the default) instead computes, at every
step, the input gradient of the model being trained: an online variant of
ours, not what the paper's tables use (a recipe's `saliency: {source: online}`).

    >>> maps = saliency.precompute("smoothgrad", standard_model, x, y)  # doctest: +SKIP
    >>> attack = SaliencyPGD(eps=8 / 255, steps=5, saliency=None)  # doctest: +SKIP
    >>> robust = tfrobust.adversarial(model, objectives.PGDAT(), attack)  # doctest: +SKIP
    >>> robust.compile(optimizer="adam")  # doctest: +SKIP
    >>> robust.fit(saliency.with_saliency(x, maps), y, epochs=10)  # doctest: +SKIP
"""

import keras
import numpy as np
from keras import ops

from tfrobust import backend
from tfrobust import validation
from tfrobust.argument_validation import check_int
from tfrobust.argument_validation import check_number
from tfrobust.attacks import losses
from tfrobust.attacks import projections
from tfrobust.attacks.base import Attack


def binarize(saliency, threshold=None):
    """+1 where the map is at least `threshold`, else -1.

    The default threshold is per image: 0 for a map with negative values
    (signed gradients: their sign; +-1 box or mask maps: unchanged), and the
    map's mean for a non-negative one (CAMs, absolute values: high vs low).
    """
    if threshold is None:
        axes = tuple(range(1, len(saliency.shape)))
        signed = ops.min(saliency, axis=axes, keepdims=True) < 0
        mean = ops.mean(saliency, axis=axes, keepdims=True)
        threshold = ops.where(signed, ops.zeros_like(mean), mean)
    return ops.where(saliency >= threshold, 1.0, -1.0)


def broadcast_saliency(saliency, x):
    """A map of shape (N, H, W), (N, H, W, 1) or x's shape, broadcast to x's shape."""
    saliency = ops.cast(saliency, x.dtype)
    if len(saliency.shape) == 3:
        saliency = saliency[..., None]
    if len(saliency.shape) != 4 or tuple(saliency.shape[1:3]) != tuple(x.shape[1:3]):
        raise ValueError(
            f"Saliency maps must be (N, H, W), (N, H, W, 1) or shaped like the images "
            f"{tuple(x.shape)}. Received: saliency.shape={tuple(saliency.shape)}"
        )
    return saliency * ops.ones_like(x)


def sat_direction(saliency, random_fraction, seed, threshold=None):
    """SAT's starting direction in {-1, +1}: random signs with probability `random_fraction`,
    else -binarize(saliency)."""
    shape = ops.shape(saliency)
    signs = ops.where(keras.random.uniform(shape, seed=seed) < 0.5, -1.0, 1.0)
    is_random = keras.random.uniform(shape, seed=seed) < random_fraction
    return ops.where(is_random, signs, -binarize(saliency, threshold))


def online_saliency(name, seed):
    """The saliency of the model being trained, `fn(forward, x, labels)`, by name.

    `seed` (the attack's seed generator) drives SmoothGrad's noise, so that
    it advances with the training step's state like the attack's own noise.
    """
    from tfrobust.saliency import gradients

    methods = {
        "gradient": gradients.gradient_fn,
        "smoothgrad": lambda forward, x, y: gradients.smoothgrad_fn(forward, x, y, seed=seed),
        "integrated_gradients": gradients.integrated_gradients_fn,
    }
    if name not in methods:
        raise ValueError(
            f"`saliency` must be one of {sorted(methods)}, a function "
            "`fn(forward, x, labels)`, or None (maps come with the data). "
            f"Received: saliency={name!r}"
        )
    return methods[name]


class SATSchedule(keras.callbacks.Callback):
    """Sets `attack.random_fraction` to alpha^epoch when each epoch begins.

    `SaliencyPGD.training_callbacks` returns it, so `AdversarialModel.fit`
    adds it by itself; a resumed run (`initial_epoch=t`) starts at alpha^t.

    Args:
        attack: a `SaliencyPGD` (its `with_loss` and `scaled` copies share
            the variable).
    """

    def __init__(self, attack):
        super().__init__()
        self.attack = attack

    def on_epoch_begin(self, epoch, logs=None):
        self.attack.set_epoch(int(epoch))


class SaliencyPGD(Attack):
    """PGD from SAT's saliency initialisation (L-inf).

    The map comes with the data (`perturb(..., saliency=s)`, which
    `AdversarialModel` passes from `{"image": x, "saliency": s}` inputs) or,
    when the data has none, is computed from the model being trained.

    Args:
        eps: L-inf budget in the [0, 1] pixel scale.
        step_size: PGD step size.
        steps: PGD steps after the initialisation; 0 gives plain SAT.
        alpha: base of the random fraction alpha^t, in (0, 1].
        saliency: online map when the data carries none: `"gradient"`,
            `"smoothgrad"`, `"integrated_gradients"` (of the model being
            trained: our variant, not the paper's), a pure function
            `fn(forward, x, labels)`, or `None` to require maps in the data
            (the paper's fixed maps; what SAT recipes use).
        threshold: value from which saliency counts as +1; `None`: 0 for
            signed maps, each image's mean for non-negative ones (`binarize`).
        loss: PGD's loss, `"ce"`, `"cw"` or `"dlr"` (objectives like TRADES
            replace it through `with_loss`).
        seed: seed of the initialisation noise.
        norm: `"linf"`, its only norm (`get_config` records it).

    Attributes:
        random_fraction: the non-trainable variable holding alpha^t;
            `set_epoch(t)` updates it, and in `fit` the `SATSchedule` callback
            does (`training_callbacks`).

    Example:
        >>> attack = SaliencyPGD(eps=8 / 255, steps=5, alpha=0.9)  # doctest: +SKIP
        >>> attack.set_epoch(3)  # doctest: +SKIP
        >>> x_adv = attack(model, x, y, saliency=maps)  # doctest: +SKIP

    Reference:
        Mangla et al., "On Saliency Maps and Adversarial Robustness", ECML-PKDD 2020.
    """

    norms = ("linf",)

    def __init__(
        self,
        eps=8 / 255,
        step_size=2 / 255,
        steps=10,
        alpha=0.9,
        saliency="gradient",
        threshold=None,
        loss="ce",
        seed=None,
        norm="linf",
        **kwargs,
    ):
        super().__init__(eps, norm=norm, seed=seed, **kwargs)
        self.step_size = check_number("step_size", step_size, minimum=0, exclusive_minimum=True)
        self.steps = check_int("steps", steps, minimum=0)
        self.alpha = check_number("alpha", alpha, minimum=0, maximum=1, exclusive_minimum=True)
        check_number("threshold", threshold, allow_none=True)
        self.saliency = saliency
        self.saliency_fn = (
            saliency
            if callable(saliency) or saliency is None
            else online_saliency(saliency, self.seed_generator)
        )
        self.threshold = threshold
        self.loss = loss
        self.loss_fn = losses.get(loss, False)
        self.random_fraction = keras.Variable(
            1.0, dtype="float32", trainable=False, name="sat_random_fraction"
        )

    def set_epoch(self, epoch):
        """Set the random fraction to alpha^epoch (epoch 0: all noise)."""
        check_int("epoch", epoch, minimum=0)
        self.random_fraction.assign(self.alpha**epoch)

    def training_callbacks(self):
        """The alpha^t schedule, `SATSchedule(self)`, which `AdversarialModel.fit` adds."""
        return [SATSchedule(self)]

    def initialise(self, forward, x, y, saliency=None):
        """SAT's starting point x + eps * delta, in [0, 1]."""
        if saliency is None:
            if self.saliency_fn is None:
                raise ValueError(
                    "This SaliencyPGD has saliency=None: pass maps with the data, "
                    '{"image": x, "saliency": s}, or in `perturb(..., saliency=s)`.'
                )
            labels = ops.cast(ops.argmax(y, axis=-1) if len(y.shape) == 2 else y, "int32")
            saliency = ops.stop_gradient(self.saliency_fn(forward, x, labels))
        saliency = broadcast_saliency(saliency, x)
        direction = sat_direction(
            saliency, self.random_fraction.value, self.seed_generator, self.threshold
        )
        return ops.clip(x + self.eps * direction, 0.0, 1.0)

    def perturb(self, forward, x, y, saliency=None):
        start = self.initialise(forward, x, y, saliency)
        if self.steps == 0:
            return ops.stop_gradient(start)

        def total_loss(z):
            return ops.sum(self.loss_fn(forward(z), y))

        def step(_, x_adv):
            _, grad = backend.value_and_grad(total_loss, x_adv)
            x_adv = x_adv + self.step_size * projections.steepest_ascent(grad, "linf")
            return projections.project(x_adv, x, self.eps, "linf")

        x_adv = ops.fori_loop(0, self.steps, step, start)
        return ops.stop_gradient(x_adv)

    def __call__(self, model, x, y, saliency=None):
        """Attack `model` on a batch; `saliency` as in `perturb` (None: online maps)."""
        x, y = validation.check_batch(model, x, y)
        x, y = ops.convert_to_tensor(x), ops.convert_to_tensor(y.astype("int32"))
        per_model = self._compiled.setdefault(model, {})  # keyed by: maps given?
        given = saliency is not None
        if given not in per_model:
            fn = self.perturb if given else (lambda forward, x, y: self.perturb(forward, x, y))
            per_model[given] = backend.compile_model_fn(
                model, fn, state=[self.seed_generator.state, self.random_fraction]
            )
        if not given:
            return per_model[given](x, y)
        return per_model[given](x, y, ops.convert_to_tensor(np.asarray(saliency, dtype="float32")))

    def get_config(self):
        saliency = (
            self.saliency if isinstance(self.saliency, (str, type(None))) else repr(self.saliency)
        )
        return {
            **super().get_config(),
            "step_size": self.step_size,
            "steps": self.steps,
            "alpha": self.alpha,
            "saliency": saliency,
            "threshold": self.threshold,
            "loss": self.loss,
        }
