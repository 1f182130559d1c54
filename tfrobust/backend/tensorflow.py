"""TensorFlow implementations of the backend shim (see `tfrobust.backend`)."""

import logging

import tensorflow as tf


class _FirstTracesAreNotRetraces(logging.Filter):
    """Drop TF's "N out of the last N calls ... triggered retracing" for our compiled functions.

    TF counts traces per code object, so the first trace of each attack that
    `compile_model_fn` compiles (an AutoAttack run makes five) reads as the
    same function retracing; batch padding (`attacks.batching`) keeps real
    retraces rare.
    """

    def filter(self, record):
        return "compile_model_fn.<locals>" not in record.getMessage()


tf.get_logger().addFilter(_FirstTracesAreNotRetraces())


def value_and_grad(fn, x, has_aux=False):
    """Value of the scalar `fn(x)` and its gradient with respect to `x`.

    With `has_aux=True`, `fn` returns `(scalar, aux)` and the result is
    `((scalar, aux), grad)`, as in `jax.value_and_grad`. Where `fn` does not
    depend on `x` (a defense that stops the gradient) the gradient is zero, as
    in JAX, not `None`.
    """
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = fn(x)
    value = out[0] if has_aux else out
    return out, tape.gradient(value, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)


def xla_by_default():
    """XLA on GPUs and TPUs only.

    On CPU, TensorFlow's own (oneDNN) kernels ran our convolutional networks
    faster than XLA: a ResNet-20 training step 2.2x, PGD-20 1.4x
    (benchmarks/README.md).
    """
    return bool(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))


def compile_model_fn(model, fn, state=(), jit_compile=None):
    """Compile `fn(forward, *args)` where `forward(x)` runs `model` in inference mode.

    `tf.function` reads and updates variables at call time, so the compiled
    function always sees the current weights and advances the seed generators
    in `state` itself. `jit_compile=None` uses XLA where `xla_by_default()`.
    The outputs (logits, or a list for multi-output models) are float32 whatever
    the model's dtype policy, so that attack losses and gradients are computed
    in float32 under mixed precision.
    """
    del state  # tf.function tracks variable updates on its own.
    if jit_compile is None:
        jit_compile = xla_by_default()

    def forward(x):
        return tf.nest.map_structure(lambda t: tf.cast(t, "float32"), model(x, training=False))

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def compiled(*args):
        return fn(forward, *args)

    return compiled


def _replica_scale(loss):
    """Each replica's gradient is summed across replicas, so scale its loss by 1/N."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / replicas if replicas > 1 else loss


def train_step(model, data):
    """One step of an `AdversarialModel`: attack, then gradient of the objective."""
    import keras

    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    x_adv, clean_logits = model.generate(x, y)  # outside the tape: no weight gradients
    with tf.GradientTape() as tape:
        loss, y_pred = model.objective_loss(x, y, x_adv, clean_logits, training=True)
        scaled = model.optimizer.scale_loss(_replica_scale(loss))
    gradients = tape.gradient(scaled, model.trainable_variables)
    model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return model.compute_metrics(x, y, y_pred, sample_weight)


def test_step(model, data):
    """Evaluation of an `AdversarialModel` under its training attack."""
    import keras

    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    x_adv, clean_logits = model.generate(x, y)
    _, y_pred = model.objective_loss(x, y, x_adv, clean_logits, training=False)
    return model.compute_metrics(x, y, y_pred, sample_weight)
