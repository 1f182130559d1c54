"""The denoising operations of Xie et al. (CVPR 2019), as functions on `(N, H, W, C)` maps.

`DenoisingBlock` (`denoising.py`) wraps one of these with a 1x1 conv and a
residual. They are plain `keras.ops` functions, so each one is tested on its
own against NumPy / SciPy and runs on every backend.

Non-local means and the bilateral filter compute a weighted mean
`y_i = 1/C(x) sum_j f(x_i, x_j) x_j`: over all positions (non-local) or over
a `kernel_size` window (bilateral). The weightings are

- "gaussian": `f = exp(theta(x_i) . phi(x_j) / sqrt(d))`, `C = sum_j f`, a
  softmax over `j` (`d` is the embedding's channel count);
- "dot_product": `f = theta(x_i) . phi(x_j)`, `C` = the number of positions `j`.

`theta` and `phi` are embeddings of `x` (the block's 1x1 convolutions) or `x`
itself. At the border, the bilateral and mean filters average over the
neighbours inside the map only (as "same" average pooling does), and the
median filter mirrors the map at its border (NumPy's
"symmetric" pad), which is `scipy.ndimage.median_filter(mode="reflect")`, and
for a 3x3 window also `mode="nearest"` (the edge value repeated).
"""

import math

from keras import ops

from tfrobust.argument_validation import check_choice
from tfrobust.argument_validation import check_int

WEIGHTINGS = ("gaussian", "dot_product")


def check_kernel_size(kernel_size):
    """`kernel_size` as an odd `int` >= 1: the window is centred on each position."""
    if check_int("kernel_size", kernel_size) % 2 == 0:
        raise ValueError(
            "`kernel_size` must be odd (the window is centred). "
            f"Received: kernel_size={kernel_size!r}"
        )
    return int(kernel_size)


def nonlocal_means(x, theta=None, phi=None, weighting="gaussian"):
    """Non-local means over all spatial positions of `x` (`(N, H, W, C)`).

    Args:
        x: the feature map averaged (the paper's `g(x) = x`).
        theta, phi: `(N, H, W, d)` embeddings compared to weight the mean;
            `None` uses `x`.
        weighting: "gaussian" (softmax) or "dot_product".
    """
    check_choice("weighting", weighting, WEIGHTINGS)
    theta = x if theta is None else theta
    phi = x if phi is None else phi
    n, h, w, c = ops.shape(x)
    d = theta.shape[-1]
    theta = ops.reshape(theta, (-1, h * w, d))
    phi = ops.reshape(phi, (-1, h * w, d))
    g = ops.reshape(x, (-1, h * w, c))
    if weighting == "gaussian":
        affinity = ops.matmul(theta, ops.transpose(phi, (0, 2, 1))) / math.sqrt(d)
        y = ops.matmul(ops.softmax(affinity, axis=-1), g)
    else:
        # theta (phi^T g) equals (theta phi^T) g without the (HW, HW) matrix.
        y = ops.matmul(theta, ops.matmul(ops.transpose(phi, (0, 2, 1)), g)) / (h * w)
    return ops.reshape(y, ops.shape(x))


def bilateral_filter(x, theta=None, phi=None, weighting="gaussian", kernel_size=3):
    """Non-local means restricted to a `kernel_size` window inside the map ("local mean")."""
    check_choice("weighting", weighting, WEIGHTINGS)
    check_kernel_size(kernel_size)
    theta = x if theta is None else theta
    phi = x if phi is None else phi
    inside = ops.stack(_shifted(ops.ones_like(x[:1, :, :, 0]), kernel_size), axis=-1)
    affinity = ops.stack(
        [ops.sum(theta * phi_j, axis=-1) for phi_j in _shifted(phi, kernel_size)], axis=-1
    )  # (N, H, W, k*k)
    if weighting == "gaussian":
        affinity = affinity / math.sqrt(theta.shape[-1])
        affinity = ops.where(inside > 0, affinity, ops.full_like(affinity, -1e9))
        f = ops.softmax(affinity, axis=-1)
    else:
        f = affinity * inside / ops.sum(inside, axis=-1, keepdims=True)
    return sum(f[..., k : k + 1] * x_j for k, x_j in enumerate(_shifted(x, kernel_size)))


def mean_filter(x, kernel_size=3):
    """Mean of each channel over the `kernel_size` window, counting only positions inside
    (average pooling with "same" padding)."""
    check_kernel_size(kernel_size)
    return ops.average_pool(x, kernel_size, strides=1, padding="same")


def median_filter(x, kernel_size=3):
    """Median of each channel over the `kernel_size` window, the map mirrored at its border.

    3x3: a 19-exchange min/max network (Paeth; Devillard's `opt_med9`), much
    faster than sorting; larger windows: the smallest of the top half
    (`top_k`). Both are differentiable: the gradient goes to the median element.
    """
    check_kernel_size(kernel_size)
    values = _shifted(x, kernel_size, mode="symmetric")
    if kernel_size == 3:
        for a, b in _MEDIAN9:
            values[a], values[b] = (
                ops.minimum(values[a], values[b]),
                ops.maximum(values[a], values[b]),
            )
        return values[4]
    return ops.top_k(ops.stack(values, axis=-1), (kernel_size * kernel_size + 1) // 2)[0][..., -1]


# Compare-exchange pairs (smaller value to the first index) leaving the median of 9 at 4.
_MEDIAN9 = (
    (1, 2),
    (4, 5),
    (7, 8),
    (0, 1),
    (3, 4),
    (6, 7),
    (1, 2),
    (4, 5),
    (7, 8),
    (0, 3),
    (5, 8),
    (4, 7),
    (3, 6),
    (1, 4),
    (2, 5),
    (4, 7),
    (4, 2),
    (6, 4),
    (4, 2),
)


def _shifted(x, kernel_size, mode="constant"):
    """The `k*k` maps `x[i + di, j + dj]` of a `kernel_size` window, outside positions given by
    `mode` ("constant": zeros; "symmetric": the map mirrored, edge included)."""
    p = kernel_size // 2
    h, w = ops.shape(x)[1], ops.shape(x)[2]
    pads = [[0, 0], [p, p], [p, p]] + [[0, 0]] * (len(x.shape) - 3)
    padded = ops.pad(x, pads, mode=mode)
    return [padded[:, i : i + h, j : j + w] for i in range(kernel_size) for j in range(kernel_size)]
