"""Input-gradient saliency: vanilla gradient, SmoothGrad, Integrated Gradients.

Each method comes twice: a pure function of `forward(x) -> logits`
(`*_fn`, written with `keras.ops`, so an attack can call it inside a compiled
training step, as SAT's online saliency does) and a model-level function
that checks the batch, compiles once per model and returns the maps, shaped
like the images (N, H, W, C).
"""

import keras
from keras import ops

from tfrobust import backend
from tfrobust.argument_validation import check_int
from tfrobust.argument_validation import check_number
from tfrobust.saliency import targets


def gradient_fn(forward, x, y):
    """d logit_y / d x for each image (Simonyan et al. 2014)."""
    return backend.input_grad(lambda z: targets.class_score(forward(z), y), x)


CHUNK = 8
"""Copies of the batch per gradient pass in SmoothGrad and Integrated Gradients."""


def summed_gradients(forward, points, weights, y, chunk=CHUNK):
    """sum_k weights[k] * gradient at `points[k]` (a (K, N, ...) stack), `chunk` copies per pass.

    A Python loop over batched chunks rather than `fori_loop`: on CPU, XLA
    runs convolutions inside a while loop several times slower (measured
    10x with TF and JAX), while a batch of copies runs at full speed. The
    trace grows with K / chunk, memory with `chunk` copies of the batch.
    """
    count = int(points.shape[0])
    total = None
    for first in range(0, count, chunk):
        size = min(chunk, count - first)
        block = points[first : first + size]
        flat = ops.reshape(block, (-1,) + tuple(points.shape[2:]))
        grads = gradient_fn(forward, flat, ops.tile(y, (size,)))
        grads = ops.reshape(grads, (size, -1) + tuple(points.shape[2:]))
        w = ops.reshape(
            ops.convert_to_tensor(weights[first : first + size], dtype=grads.dtype),
            (size,) + (1,) * (len(points.shape) - 1),
        )
        part = ops.sum(w * grads, axis=0)
        total = part if total is None else total + part
    return total


def smoothgrad_fn(forward, x, y, samples=25, noise=0.15, seed=None):
    """Mean gradient over `samples` copies of `x` with Gaussian noise.

    The noise's standard deviation is `noise` times each image's value range,
    the paper's "noise level" (10-20% works best there).
    """
    axes = tuple(range(1, len(x.shape)))
    spread = ops.max(x, axis=axes, keepdims=True) - ops.min(x, axis=axes, keepdims=True)
    draws = keras.random.normal((samples,) + tuple(ops.shape(x)), seed=seed)
    points = x[None] + noise * spread[None] * draws
    return summed_gradients(forward, points, [1.0 / samples] * samples, y)


def integrated_gradients_fn(forward, x, y, baseline=None, steps=50):
    """(x - x0) times the mean gradient on the straight path from x0 to x.

    The path integral uses the trapezoidal rule on `steps` intervals (one
    gradient more than the paper's Riemann sum, and exact on the linear
    pieces of a ReLU network's path), so attributions sum to f(x) - f(x0)
    within 1% with some dozens of steps. `baseline` defaults to black images.
    """
    baseline = ops.zeros_like(x) if baseline is None else baseline
    diff = x - baseline
    fractions = ops.reshape(
        ops.arange(steps + 1, dtype=x.dtype) / steps, (steps + 1,) + (1,) * len(x.shape)
    )
    points = baseline[None] + fractions * diff[None]
    weights = [0.5 if k in (0, steps) else 1.0 for k in range(steps + 1)]
    return diff * summed_gradients(forward, points, weights, y) / steps


def vanilla_gradient(model, x, y=None):
    """Gradient of each image's class logit with respect to its pixels.

    Args:
        model: a Keras classifier returning logits.
        x: images (N, H, W, C).
        y: classes to explain, (N,); `None` explains the predicted classes.

    Example:
        >>> from tfrobust import architectures, data, saliency
        >>> x, y = data.load_numpy("mnist", "test", data_dir=data.SAMPLE_DIR)
        >>> model = architectures.get("lenet")
        >>> tuple(saliency.vanilla_gradient(model, x[:4]).shape)
        (4, 28, 28, 1)

    Reference:
        Simonyan et al., "Deep Inside Convolutional Networks: Visualising Image
        Classification Models and Saliency Maps", ICLR workshop 2014.
    """
    x, y = targets.prepare(model, x, y)
    return targets.compiled(model, ("gradient",), gradient_fn)(x, y)


def smoothgrad(model, x, y=None, samples=25, noise=0.15, seed=None):
    """Gradient averaged over noisy copies of each image; less speckled than one gradient.

    Args:
        model, x, y: as `vanilla_gradient`.
        samples: number of noisy copies.
        noise: standard deviation as a fraction of each image's value range.
        seed: integer seed of the noise; `None` draws fresh noise each call.

    Reference:
        Smilkov et al., "SmoothGrad: removing noise by adding noise", 2017.
    """
    samples = check_int("samples", samples)
    noise = check_number("noise", noise, minimum=0)
    x, y = targets.prepare(model, x, y)
    key = ("smoothgrad", samples)
    generator = targets.seed_generator(model, key, seed)

    def fn(forward, x, y, noise):  # noise as an argument: one compilation for every level
        return smoothgrad_fn(forward, x, y, samples, noise, generator)

    return targets.compiled(model, key, fn, state=[generator.state])(
        x, y, ops.convert_to_tensor(noise, dtype="float32")
    )


def integrated_gradients(model, x, y=None, baseline=None, steps=50):
    """Path-integrated gradients from `baseline` (default black) to each image.

    Attributions add up to logit(x) - logit(baseline) (completeness), which
    a single gradient does not guarantee.

    Args:
        model, x, y: as `vanilla_gradient`.
        baseline: images of x's shape, or `None` for zeros.
        steps: intervals of the trapezoidal rule (steps + 1 gradients).

    Reference:
        Sundararajan et al., "Axiomatic Attribution for Deep Networks", ICML 2017.
    """
    steps = check_int("steps", steps)
    x, y = targets.prepare(model, x, y)
    if baseline is None:
        baseline = ops.zeros_like(x)
    else:
        baseline = ops.convert_to_tensor(baseline, dtype="float32")
        if tuple(baseline.shape) != tuple(x.shape):
            raise ValueError(
                "`baseline` must have the images' shape "
                f"{tuple(x.shape)}. Received: baseline.shape={tuple(baseline.shape)}"
            )

    def fn(forward, x, y, baseline):
        return integrated_gradients_fn(forward, x, y, baseline, steps)

    return targets.compiled(model, ("integrated_gradients", steps), fn)(x, y, baseline)
