"""Guided Backpropagation: a gradient that only lets positive signals back through ReLUs.

A ReLU's ordinary backward pass keeps the gradient where the input was
positive; the guided one also drops negative incoming gradients, so the map
shows only what increases the class score (Springenberg et al. 2015). We
build, once per model, a clone whose ReLUs (`ReLU` and `Activation("relu")`
layers, and `activation="relu"` inside any layer) use `guided_relu`, sharing
every other layer, then take an ordinary gradient through the clone.
"""

import weakref

import keras
from keras import ops

from tfrobust.saliency import gradients
from tfrobust.saliency import targets


@ops.custom_gradient
def guided_relu(x):
    """ReLU whose gradient passes only where both the input and the incoming gradient are > 0."""

    def grad(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        keep = ops.logical_and(x > 0, upstream > 0)
        return ops.where(keep, upstream, ops.zeros_like(upstream))

    return ops.relu(x), grad


class GuidedReLU(keras.layers.Layer):
    """`guided_relu` as a layer, standing in for ReLU layers in the guided clone."""

    def call(self, x):
        return guided_relu(x)

    def compute_output_shape(self, input_shape):
        return input_shape


def _is_relu(activation):
    return (
        activation in (keras.activations.relu, ops.relu)
        or getattr(activation, "__name__", None) == "relu"
    )


def _guided_layer(layer, replaced):
    """The layer to use in the guided clone: itself unless it applies a plain ReLU."""
    if isinstance(layer, keras.layers.ReLU):
        config = layer.get_config()
        plain = (
            config.get("max_value") is None
            and not config.get("negative_slope")
            and not config.get("threshold")
        )
        return GuidedReLU(name=f"{layer.name}_guided") if plain else layer
    if isinstance(layer, keras.layers.Activation) and _is_relu(layer.activation):
        return GuidedReLU(name=f"{layer.name}_guided")
    if _is_relu(getattr(layer, "activation", None)) and layer.weights:
        clone = layer.__class__.from_config(layer.get_config())
        clone.activation = guided_relu
        replaced.append((clone, layer))
        return clone
    return layer


_GUIDED = weakref.WeakKeyDictionary()


def guided_model(model):
    """The guided clone of `model`, its copied weights synced from `model` on each call.

    Layers without a ReLU are shared with `model`; the few that apply one
    inside (Conv/Dense with `activation="relu"`) are new instances, so their
    weights are copied in before every use and the clone follows training.
    """
    if model not in _GUIDED:
        replaced = []
        clone = keras.models.clone_model(
            model, clone_function=lambda layer: _guided_layer(layer, replaced), recursive=True
        )
        _GUIDED[model] = (clone, replaced)
    clone, replaced = _GUIDED[model]
    for new, old in replaced:
        for target, source in zip(new.weights, old.weights):
            target.assign(source.value)
    return clone


def guided_backprop(model, x, y=None):
    """Guided Backpropagation maps, shaped like the images.

    Args:
        model: a Keras classifier returning logits (functional or Sequential).
        x: images (N, H, W, C).
        y: classes to explain, (N,); `None` explains the predicted classes.

    Example:
        >>> from tfrobust import architectures, data, saliency
        >>> x, y = data.load_numpy("mnist", "test", data_dir=data.SAMPLE_DIR)
        >>> model = architectures.get("lenet")
        >>> tuple(saliency.guided_backprop(model, x[:4]).shape)
        (4, 28, 28, 1)

    Reference:
        Springenberg et al., "Striving for Simplicity: The All Convolutional
        Net", ICLR workshop 2015.
    """
    x, y = targets.prepare(model, x, y)
    clone = guided_model(model)
    return targets.compiled(clone, ("gradient",), gradients.gradient_fn)(x, y)
