"""Bounding boxes and segmentation masks as weak saliency maps (SAT, section 4).

Where a dataset has annotations, SAT uses them in place of a computed map:
+1 on the object, -1 elsewhere. These run in NumPy, once, when the dataset
is prepared; the maps then travel with the images (`with_saliency`).
"""

import numpy as np


def boxes_to_saliency(boxes, image_size, normalized=True):
    """+1 inside any of each image's boxes, -1 outside; shape (N, H, W, 1).

    Args:
        boxes: (N, 4) or (N, K, 4) as `[y_min, x_min, y_max, x_max]`, the
            `tf.image` order; rows of NaN are ignored (padding).
        image_size: `(H, W)`.
        normalized: boxes in [0, 1] of the image size (True) or in pixels.

    Example:
        >>> s = boxes_to_saliency([[0.25, 0.25, 0.75, 0.75]], (4, 4))
        >>> s[0, :, :, 0].astype(int).tolist()[1]
        [-1, 1, 1, -1]
    """
    boxes = np.asarray(boxes, dtype="float64")
    if boxes.ndim == 2:
        boxes = boxes[:, None, :]
    if boxes.ndim != 3 or boxes.shape[-1] != 4:
        raise ValueError(
            "`boxes` must be (N, 4) or (N, K, 4) as [y_min, x_min, y_max, x_max]. "
            f"Received: boxes.shape={boxes.shape}"
        )
    height, width = (int(v) for v in image_size)
    if normalized:
        boxes = boxes * np.array([height, width, height, width])
    # A pixel is inside when its centre is.
    rows = np.arange(height)[None, None, :, None] + 0.5
    cols = np.arange(width)[None, None, None, :] + 0.5
    y0, x0, y1, x1 = (boxes[..., i][..., None, None] for i in range(4))
    inside = (rows >= y0) & (rows < y1) & (cols >= x0) & (cols < x1)
    inside = np.any(np.where(np.isnan(y0), False, inside), axis=1)
    return np.where(inside, 1.0, -1.0).astype("float32")[..., None]


def mask_to_saliency(masks):
    """+1 where a segmentation mask is non-zero, -1 elsewhere; shape (N, H, W, 1).

    Args:
        masks: (N, H, W) or (N, H, W, 1), boolean or integer labels (any
            non-zero value is the object).
    """
    masks = np.asarray(masks)
    if masks.ndim == 4 and masks.shape[-1] == 1:
        masks = masks[..., 0]
    if masks.ndim != 3:
        raise ValueError(
            f"`masks` must be (N, H, W) or (N, H, W, 1). Received: masks.shape={masks.shape}"
        )
    return np.where(masks != 0, 1.0, -1.0).astype("float32")[..., None]


def in_split_order(per_image):
    """Values keyed by `(class_folder, file_name)`, in the order a class-folder split loads.

    `tfrobust.data` returns an image-folder split (Tiny-ImageNet, Flower-17)
    in a fixed order that mixes the classes (`data.formats.image_folder`);
    a maps file for a recipe's `saliency: {source: files}` must follow it.
    Give every image of the split an entry (its boxes, or its mask), then
    stack what this returns, e.g. `boxes_to_saliency(in_split_order(boxes),
    (64, 64), normalized=False)`.

    Example:
        >>> in_split_order({("a", "1.jpg"): 1, ("b", "2.jpg"): 2})
        [2, 1]
    """
    from tfrobust.data.formats.image_folder import order_key

    return [per_image[k] for k in sorted(per_image, key=lambda k: order_key(k[0], k[1]))]


def with_saliency(images, saliency):
    """`{"image": images, "saliency": saliency}`, the inputs `AdversarialModel.fit` takes for SAT.

    Example:
        >>> s = boxes_to_saliency([[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]], (4, 4))
        >>> inputs = with_saliency(np.zeros((2, 4, 4, 3)), s)
        >>> inputs["image"].shape, inputs["saliency"].shape
        ((2, 4, 4, 3), (2, 4, 4, 1))

        `robust.fit(inputs, y)` then trains SAT with these maps.
    """
    images, saliency = np.asarray(images), np.asarray(saliency, dtype="float32")
    if saliency.shape[:3] != images.shape[:3] or saliency.shape[3] not in (1, images.shape[3]):
        raise ValueError(
            f"`saliency` must be (N, H, W, 1) or shaped like the images "
            f"{images.shape}. Received: saliency.shape={saliency.shape}"
        )
    return {"image": images, "saliency": saliency}
