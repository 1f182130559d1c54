"""PNG grids of saliency maps and Grad-CAM overlays, clean and adversarial side by side.

One row per image: the clean image, its maps, then the adversarial image and
its maps, each image titled with its true and its predicted label, so one
sees where the model looks and how an attack moves that (the AALP paper's
Fig. 2 compares such maps of adversarial examples across training methods).
Every method uses one colour convention (`COLORMAP`, explained by the colour
bar): pixel maps as per-image normalised magnitude, CAMs as an overlay on the
image, both from 0 (no relevance) to 1 (the image's most relevant pixels).
"""

import pathlib

import numpy as np
from keras import ops

from tfrobust import saliency as methods

COLORMAP = "inferno"
COLORBAR_LABEL = "relevance (normalised per image)"


def magnitude(maps):
    """Pixel maps (N, H, W, C) to display values (N, H, W) in [0, 1]: |map| summed over channels,
    divided by each image's 99th percentile (a few extreme pixels would hide the rest)."""
    maps = np.abs(np.asarray(maps, dtype="float64"))
    if maps.ndim == 4:
        maps = maps.sum(-1)
    top = np.percentile(maps.reshape(len(maps), -1), 99, axis=1)[:, None, None]
    return np.clip(maps / np.where(top > 0, top, 1.0), 0.0, 1.0)


def colored(maps, colormap=COLORMAP):
    """Display values (N, H, W) in [0, 1] as RGB in `colormap`."""
    from matplotlib import colormaps

    return colormaps[colormap](np.asarray(maps))[..., :3]


def overlay(images, cams, opacity=0.5, colormap=COLORMAP):
    """CAMs (N, H, W) drawn in `colormap` over the images (N, H, W, C in [0, 1]); RGB out."""
    from matplotlib import colormaps

    images = np.asarray(images, dtype="float64")
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    cams = np.asarray(cams, dtype="float64")
    top = cams.reshape(len(cams), -1).max(1)[:, None, None]
    heat = colormaps[colormap](cams / np.where(top > 0, top, 1.0))[..., :3]
    return np.clip((1 - opacity) * images + opacity * heat, 0.0, 1.0)


def panels(model, x, y, names, layer=None, **kwargs):
    """Display panels (N, H, W) or (N, H, W, 3) for each method in `names`, in order."""
    out = []
    for name in names:
        extra = (
            {"layer": layer} if name in methods.CAM_METHODS + ("guided_grad_cam_plus_plus",) else {}
        )
        extra.update(kwargs.get(name, {}))
        maps = ops.convert_to_numpy(methods.compute(name, model, x, y, **extra))
        out.append(overlay(x, maps) if name in methods.CAM_METHODS else colored(magnitude(maps)))
    return out


def image_title(true, predicted, confidence, label=str):
    """`true 7, pred 3 (61%) ✗`: which label is the truth and which the model's guess."""
    mark = "" if predicted == true else " ✗"
    return f"true {label(true)}, pred {label(predicted)} ({confidence:.0%}){mark}"


def grid_figure(rows, titles=None, column_titles=None, cell=1.6, colorbar=True):
    """A matplotlib figure of images (each (H, W) in [0, 1], (H, W, 1) or (H, W, 3)),
    with a colour bar for `COLORMAP` unless `colorbar` is False."""
    from matplotlib import cm
    from matplotlib import colors
    from matplotlib.figure import Figure

    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig = Figure(
        figsize=(cell * n_cols + (0.8 if colorbar else 0), cell * n_rows + 0.4),
        layout="constrained",
    )
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for i, row in enumerate(rows):
        for j in range(n_cols):
            ax = axes[i][j]
            ax.axis("off")
            if j >= len(row):
                continue
            image = np.asarray(row[j])
            if image.ndim == 3 and image.shape[-1] == 1:
                image = image[..., 0]
            ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
            if titles is not None and titles[i][j]:
                ax.set_title(titles[i][j], fontsize=7)
    if column_titles is not None:
        for j, title in enumerate(column_titles):
            axes[0][j].text(
                0.5,
                1.35,
                title,
                fontsize=8,
                ha="center",
                va="bottom",
                transform=axes[0][j].transAxes,
            )
    if colorbar:
        mappable = cm.ScalarMappable(colors.Normalize(0, 1), COLORMAP)
        fig.colorbar(mappable, ax=axes, shrink=0.8, label=COLORBAR_LABEL)
    return fig


def save_grid(path, rows, titles=None, column_titles=None, cell=1.6, colorbar=True):
    """Write `grid_figure(...)` to a PNG, atomically."""
    from tfrobust.zoo.files import atomic_path

    fig = grid_figure(rows, titles, column_titles, cell, colorbar)
    path = pathlib.Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    return path


def saliency_figure(
    path,
    model,
    x,
    y,
    x_adv=None,
    names=("gradient", "grad_cam"),
    layer=None,
    class_names=None,
    **kwargs,
):
    """Write a PNG grid: per image, the clean image and its maps, then the same for `x_adv`.

    Args:
        path: output PNG.
        model: a Keras classifier returning logits.
        x: clean images (N, H, W, C) in [0, 1].
        y: true labels (N,); maps explain the true class on both images, so
            the adversarial columns show how the attack moves its evidence.
        x_adv: adversarial images, or `None` for clean columns only.
        names: saliency methods (`tfrobust.saliency.METHODS`).
        layer: the CAM layer (default: the last convolutional stage).
        class_names: optional names for the titles.
        kwargs: per-method keyword arguments, e.g. `smoothgrad={"samples": 10}`.

    Example:
        >>> import tempfile
        >>> from tfrobust import architectures, data
        >>> from tfrobust.attacks import PGD
        >>> x, y = data.load_numpy("mnist", "test", data_dir=data.SAMPLE_DIR, n=2)
        >>> model = architectures.get("lenet")
        >>> path = saliency_figure(f"{tempfile.mkdtemp()}/fig.png", model, x, y,
        ...                        PGD(0.3, steps=2)(model, x, y),
        ...                        names=("smoothgrad", "grad_cam_plus_plus"),
        ...                        smoothgrad={"samples": 4})
    """
    for name in names:
        methods.get(name)
    x = np.asarray(x, dtype="float32")
    y = np.asarray(y, dtype="int32")
    label = (lambda c: str(class_names[c])) if class_names is not None else str
    groups = [("clean", x)] + (
        [("adversarial", np.asarray(x_adv, dtype="float32"))] if x_adv is not None else []
    )
    columns, titles, column_titles = [], [], []
    for kind, images in groups:
        logits = ops.convert_to_numpy(model(images, training=False))
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        pred = probs.argmax(1)
        columns.append(list(images))
        titles.append(
            [image_title(int(y[i]), int(p), probs[i, p], label) for i, p in enumerate(pred)]
        )
        for panel in panels(model, images, y, names, layer, **kwargs):
            columns.append(list(panel))
            titles.append([""] * len(x))
        column_titles += [f"{kind} image"] + [f"{name}" for name in names]
    rows = [[column[i] for column in columns] for i in range(len(x))]
    row_titles = [[column[i] for column in titles] for i in range(len(x))]
    return save_grid(path, rows, row_titles, column_titles)
