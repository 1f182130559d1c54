"""Grad-CAM, Grad-CAM++ and Guided Grad-CAM++ at any named layer.

Both CAMs weigh the channels of a layer's activation A (N, h, w, k) by the
gradient of the class logit with respect to A, then upsample the map to the
image (bilinear, as in the Grad-CAM paper). To get that gradient on every
backend we build, once per model and layer, a "probe": the same layers with
an extra input added to A, outputting (A, logits). The gradient of the logit
with respect to that offset, at zero, is dlogit/dA, from one forward and one
backward pass.
"""

import weakref

import keras
from keras import ops

from tfrobust import backend
from tfrobust.saliency import guided
from tfrobust.saliency import targets


def default_layer(model):
    """The name of the last layer with a 4-D output: the last convolutional stage."""
    for layer in reversed(model.layers):
        output = getattr(layer, "output", None)
        if isinstance(output, keras.KerasTensor) and len(output.shape) == 4:
            return layer.name
    raise ValueError(
        f"{model.name!r} has no layer with a 4-D (N, H, W, C) output for Grad-CAM; pass `layer=`."
    )


_PROBES = weakref.WeakKeyDictionary()


def probe(model, layer):
    """`(x, offset) -> (A, logits)`: A is the output of `layer`, the logits are computed from
    A + offset."""
    per_model = _PROBES.setdefault(model, {})
    if layer in per_model:
        return per_model[layer]
    names = [each.name for each in model.layers]
    if layer not in names:
        raise ValueError(
            f"{model.name!r} has no layer {layer!r}; its layers are {names}. "
            f"Received: layer={layer!r}"
        )
    inputs, activation, outputs = _graph(model, layer)
    if len(activation.shape) != 4:
        raise ValueError(
            f"Grad-CAM needs a layer with a 4-D (N, H, W, C) output. "
            f"Received: layer={layer!r} with shape {activation.shape}"
        )
    if len(inputs) != 1:
        raise ValueError(f"Expected a model with one image input. Received: {len(inputs)}")
    head = keras.Model(inputs, activation)
    # A model from an intermediate tensor: layers before `layer` that still
    # feed the rest (none in a chain of stages) read the image input.
    tail = keras.Model([inputs[0], activation], outputs[0])
    image = keras.Input(inputs[0].shape[1:], name="image")
    offset = keras.Input(activation.shape[1:], name="offset")
    a = head(image)
    logits = tail([image, keras.layers.Add()([a, offset])])
    per_model[layer] = keras.Model([image, offset], [a, logits], name=f"{model.name}_{layer}_probe")
    return per_model[layer]


def _graph(model, layer):
    """`(inputs, activation, outputs)` symbolic tensors of `model` with `layer`'s output.

    A Sequential model (a loaded one in particular) is re-traced layer by
    layer on a fresh input, sharing its layers and weights.
    """
    if isinstance(model, keras.Sequential):
        inputs = keras.Input(model.inputs[0].shape[1:])
        h, activation = inputs, None
        for each in model.layers:
            h = each(h)
            activation = h if each.name == layer else activation
        return [inputs], activation, [h]
    return model.inputs, model.get_layer(layer).output, model.outputs


def activation_and_grad_fn(forward, x, y, shape):
    """A and dlogit_y/dA for a probe's `forward`; `shape` is A's shape without the batch."""
    offset = ops.zeros((ops.shape(x)[0],) + tuple(shape), dtype=x.dtype)

    def score(offset):
        a, logits = forward([x, offset])
        return targets.class_score(logits, y), a

    (_, a), grad = backend.value_and_grad(score, offset, has_aux=True)
    return a, grad


def grad_cam_weights(a, grad):
    """Grad-CAM: each channel weighted by its gradient averaged over positions."""
    del a
    return ops.mean(grad, axis=(1, 2), keepdims=True)


def grad_cam_plus_plus_weights(a, grad):
    """Grad-CAM++: positive gradients weighted by alpha = g^2 / (2 g^2 + sum(A) g^3).

    The paper's exponential score exp(S) makes higher derivatives powers of
    the first; its common factor exp(S) is left out of the weights, a
    positive constant per image that would only rescale the map (and
    overflows for large logits).
    """
    g2 = ops.square(grad)
    g3 = g2 * grad
    denominator = 2.0 * g2 + ops.sum(a, axis=(1, 2), keepdims=True) * g3
    safe = ops.where(denominator != 0, denominator, ops.ones_like(denominator))
    alpha = ops.where(denominator != 0, g2 / safe, ops.zeros_like(g2))
    return ops.sum(alpha * ops.relu(grad), axis=(1, 2), keepdims=True)


def cam_fn(weights_fn, shape, size):
    """The pure `fn(forward, x, y)` of a CAM: ReLU(sum_k w_k A_k), optionally resized to `size`."""

    def fn(forward, x, y):
        a, grad = activation_and_grad_fn(forward, x, y, shape)
        cam = ops.relu(ops.sum(weights_fn(a, grad) * a, axis=-1))
        if size is not None and tuple(size) != tuple(shape[:2]):
            cam = ops.image.resize(cam[..., None], size, interpolation="bilinear")[..., 0]
        return cam

    return fn


def _cam(name, weights_fn, model, x, y, layer, upsample):
    x, y = targets.prepare(model, x, y)
    layer = default_layer(model) if layer is None else layer
    probe_model = probe(model, layer)
    shape = tuple(probe_model.outputs[0].shape[1:])
    size = tuple(x.shape[1:3]) if upsample else None
    fn = cam_fn(weights_fn, shape, size)
    return targets.compiled(probe_model, (name, size), fn)(x, y)


def grad_cam(model, x, y=None, layer=None, upsample=True):
    """Grad-CAM maps (N, H, W): where the layer's features raise the class logit.

    Args:
        model: a Keras classifier returning logits, with one image input.
        x: images (N, H, W, C).
        y: classes to explain, (N,); `None` explains the predicted classes.
        layer: name of a layer with a 4-D output; default the last one (for
            tfrobust architectures, the last convolutional stage).
        upsample: resize the map to the images' size (bilinear); `False`
            returns it at the layer's resolution.

    Example:
        >>> from tfrobust import architectures, data, saliency
        >>> x, y = data.load_numpy("mnist", "test", data_dir=data.SAMPLE_DIR)
        >>> model = architectures.get("lenet")
        >>> tuple(saliency.grad_cam(model, x[:4], layer="stage2").shape)
        (4, 28, 28)

    Reference:
        Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
        Gradient-based Localization", ICCV 2017.
    """
    return _cam("grad_cam", grad_cam_weights, model, x, y, layer, upsample)


def grad_cam_plus_plus(model, x, y=None, layer=None, upsample=True):
    """Grad-CAM++ maps (N, H, W): Grad-CAM with per-position weights; arguments as `grad_cam`.

    Reference:
        Chattopadhyay et al., "Grad-CAM++: Generalized Gradient-based Visual
        Explanations for Deep Convolutional Networks", WACV 2018.
    """
    return _cam("grad_cam_plus_plus", grad_cam_plus_plus_weights, model, x, y, layer, upsample)


def guided_grad_cam_plus_plus(model, x, y=None, layer=None):
    """Guided Backpropagation times the upsampled Grad-CAM++ map, shaped like the images.

    Pixel-sharp like guided backprop, class-discriminative like the CAM; one
    of the saliency maps SAT trains with. Arguments as `grad_cam`.
    """
    x, y = targets.prepare(model, x, y)
    cam = grad_cam_plus_plus(model, x, y, layer=layer, upsample=True)
    return guided.guided_backprop(model, x, y) * cam[..., None]
