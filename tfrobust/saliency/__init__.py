"""Saliency maps for any Keras classifier, batched, on TensorFlow and JAX.

    >>> from tfrobust import saliency
    >>> maps = saliency.integrated_gradients(model, x, steps=50)  # doctest: +SKIP
    >>> cams = saliency.grad_cam(model, x, layer="stage3")  # doctest: +SKIP
    >>> maps = saliency.compute("smoothgrad", model, x, y, samples=25)  # doctest: +SKIP

Pixel maps (N, H, W, C): `vanilla_gradient`, `smoothgrad`,
`integrated_gradients`, `guided_backprop`, `guided_grad_cam_plus_plus`.
Class-activation maps (N, H, W): `grad_cam`, `grad_cam_plus_plus`. Weak
saliency from annotations: `boxes_to_saliency`, `mask_to_saliency`. SAT
(saliency-initialised adversarial training): `tfrobust.saliency.sat`.
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
        raise ValueError(f"Unknown saliency method; valid names are {list(METHODS)}. "
                         f"Received: name={name!r}")
    return METHODS[name]


def compute(name, model, x, y=None, **kwargs):
    """`get(name)(model, x, y, **kwargs)`."""
    return get(name)(model, x, y, **kwargs)


def precompute(name, model, x, y=None, batch_size=128, **kwargs):
    """Maps for a whole array of images, batch by batch, as a NumPy array.

    For SAT with saliency from a fixed (say, pretrained) model: compute once,
    then pass `with_saliency(x, maps)` to `fit`.
    """
    from keras import ops

    fn = get(name)
    out = []
    for i in range(0, len(x), batch_size):
        yi = None if y is None else y[i:i + batch_size]
        out.append(ops.convert_to_numpy(fn(model, x[i:i + batch_size], yi, **kwargs)))
    return np.concatenate(out)


__all__ = ["CAM_METHODS", "METHODS", "boxes_to_saliency", "compute", "get", "grad_cam",
           "grad_cam_plus_plus", "guided_backprop", "guided_grad_cam_plus_plus",
           "integrated_gradients", "mask_to_saliency", "precompute", "smoothgrad",
           "vanilla_gradient", "with_saliency"]
