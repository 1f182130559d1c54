"""Guided Dropout (AALP, 2020): train the classifier on its most useful features.

In training mode the classifier sees only the penultimate features whose
contribution R = mean over the batch of |dCE/dA * A| is at or above the median;
the others are zeroed, so the high-contribution features get the training
signal (and, with weight decay, shrink). At inference nothing is dropped.
"""

import keras
from keras import ops

from tfrobust import backend
from tfrobust.labels import current_labels


@keras.saving.register_keras_serializable(package="tfrobust")
class GuidedDropout(keras.layers.Wrapper):
    """Wraps the classifier head and applies Guided Dropout to its input.

    The importance needs dCE/dA, the gradient through the head, so the layer
    wraps the head rather than sitting before it. Labels come from
    `tfrobust.labels.label_scope` (set by `tfrobust.training.adversarial`);
    outside one, the predicted class stands in, as in Grad-CAM. Kept features
    are not rescaled: the paper keeps the top half as they are.

    Args:
        layer: the classifier head, e.g. `keras.layers.Dense(num_classes)`.

    Call arguments:
        inputs: penultimate features, shape `(batch, features)`.
        training: apply the mask (True) or not.

    Example:
        >>> from tfrobust import architectures, attacks, objectives, training
        >>> model = with_guided_dropout(architectures.get("lenet"))
        >>> robust = training.adversarial(
        ...     model, objectives.AALP(alpha=1.0), attacks.PGD(eps=0.3))

    Reference:
        "Adaptive Adversarial Logits Pairing", 2020, Eq. 7-8.
    """

    def call(self, inputs, training=False):
        if not training:
            return self.layer(inputs)
        return self.layer(inputs * ops.stop_gradient(self.mask(inputs)))

    def mask(self, inputs):
        """1 for features whose batch-mean |dCE/dA * A| is at least the median, else 0."""
        features = ops.stop_gradient(inputs)
        labels = current_labels()
        if labels is None:
            labels = ops.argmax(self.layer(features), axis=-1)

        def loss(a):
            return ops.sum(
                keras.losses.sparse_categorical_crossentropy(
                    labels, self.layer(a), from_logits=True
                )
            )

        _, grad = backend.value_and_grad(loss, features)
        importance = ops.mean(ops.abs(grad * features), axis=0)
        return ops.cast(importance >= ops.median(importance), inputs.dtype)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)


def with_guided_dropout(model, head="classifier"):
    """A copy of functional `model` whose layer `head` is wrapped in `GuidedDropout`.

    Weights are copied, and the wrapper keeps the head's name, so
    `model.get_layer("classifier").layer` is the original Dense.
    """

    def clone(layer):
        config = layer.get_config()
        if layer.name != head:
            return layer.__class__.from_config(config)
        inner = layer.__class__.from_config({**config, "name": f"{head}_head"})
        return GuidedDropout(inner, name=head)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy
