"""Saliency maps for any Keras classifier, batched, on TensorFlow and JAX.

    >>> from tfrobust import architectures, data, saliency
    >>> x, y = data.load_numpy("mnist", "test", data_dir=data.SAMPLE_DIR)
    >>> model = architectures.get("lenet")
    >>> tuple(saliency.integrated_gradients(model, x[:4], steps=8).shape)
    (4, 28, 28, 1)
    >>> tuple(saliency.grad_cam(model, x[:4], layer="stage2").shape)
    (4, 28, 28)
    >>> tuple(saliency.compute("smoothgrad", model, x[:4], y[:4], samples=4).shape)
    (4, 28, 28, 1)

Pixel maps (N, H, W, C): `vanilla_gradient`, `smoothgrad`,
`integrated_gradients`, `guided_backprop`, `guided_grad_cam_plus_plus`.
Class-activation maps (N, H, W): `grad_cam`, `grad_cam_plus_plus`. Weak
saliency from annotations: `boxes_to_saliency`, `mask_to_saliency` (and
`in_split_order` to align them with a dataset split). SAT
(saliency-initialised adversarial training): `tfrobust.attacks.saliency_init`;
maps of a fixed model computed once for a dataset and kept on disk:
`tfrobust.saliency.cache`.
Figures: `tfrobust.saliency.figures`.
"""

import numpy as np

from tfrobust.saliency.gradcam import grad_cam
from tfrobust.saliency.gradcam import grad_cam_plus_plus
from tfrobust.saliency.gradcam import guided_grad_cam_plus_plus
from tfrobust.saliency.gradients import integrated_gradients
from tfrobust.saliency.gradients import smoothgrad
from tfrobust.saliency.gradients import vanilla_gradient
from tfrobust.saliency.guided import guided_backprop
from tfrobust.saliency.masks import boxes_to_saliency
from tfrobust.saliency.masks import in_split_order
from tfrobust.saliency.masks import mask_to_saliency
from tfrobust.saliency.masks import with_saliency

METHODS = {
    "gradient": vanilla_gradient,
    "smoothgrad": smoothgrad,
    "integrated_gradients": integrated_gradients,
    "guided_backprop": guided_backprop,
    "grad_cam": grad_cam,
    "grad_cam_plus_plus": grad_cam_plus_plus,
    "guided_grad_cam_plus_plus": guided_grad_cam_plus_plus,
}
"""Method names accepted by `compute` (and the CLI), in order of cost."""

CAM_METHODS = ("grad_cam", "grad_cam_plus_plus")
"""Methods whose maps are (N, H, W) rather than image-shaped."""


def get(name):
    """The saliency function called `name`; an unknown name lists the valid ones."""
    if name not in METHODS:
        raise ValueError(
            f"Unknown saliency method; valid names are {list(METHODS)}. Received: name={name!r}"
        )
    return METHODS[name]


def compute(name, model, x, y=None, **kwargs):
    """`get(name)(model, x, y, **kwargs)`."""
    return get(name)(model, x, y, **kwargs)


def precompute(name, model, x, y=None, batch_size=128, **kwargs):
    """Maps for a whole array of images, batch by batch, as a float32 NumPy array.

    For SAT with saliency from a fixed (say, pretrained) model: compute once,
    then pass `with_saliency(x, maps)` to `fit` (a recipe's `saliency:
    {source: model}` does this, cached: `tfrobust.saliency.cache`).

    Args:
        name: a method in `METHODS`.
        model: the classifier that explains.
        x: images (N, H, W, C), float in [0, 1], or uint8 (scaled to [0, 1]
            batch by batch, so the whole set is never held as floats).
        y: classes to explain (N,); `None`: the predicted classes.
        batch_size: images per call.
        **kwargs: the method's own arguments. A `seed` (SmoothGrad) seeds the
            first batch only; later batches continue its noise, so no two
            batches get the same draws.
    """
    from keras import ops

    fn = get(name)
    out = []
    for i in range(0, len(x), batch_size):
        xi = np.asarray(x[i : i + batch_size])
        xi = xi.astype("float32") / 255.0 if xi.dtype == np.uint8 else xi
        yi = None if y is None else np.asarray(y[i : i + batch_size])
        out.append(ops.convert_to_numpy(fn(model, xi, yi, **kwargs)).astype("float32"))
        if kwargs.get("seed") is not None:
            kwargs = {**kwargs, "seed": None}
    return np.concatenate(out)


__all__ = [
    "CAM_METHODS",
    "METHODS",
    "boxes_to_saliency",
    "compute",
    "get",
    "grad_cam",
    "grad_cam_plus_plus",
    "guided_backprop",
    "guided_grad_cam_plus_plus",
    "in_split_order",
    "integrated_gradients",
    "mask_to_saliency",
    "precompute",
    "smoothgrad",
    "vanilla_gradient",
    "with_saliency",
]
