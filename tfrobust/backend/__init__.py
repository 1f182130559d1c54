"""The few backend-specific pieces the library needs, behind one interface.

Keras 3 gives layers and losses on every backend, but not gradients with respect
to *inputs* (attacks, saliency), compiled functions that read a model's current
weights, nor a train step with an inner attack (`AdversarialModel`). Those live
in `tensorflow.py` and `jax.py` beside this file. Training across TensorFlow
workers lives here too: `make_strategy` (`strategy.py`) builds the
`tf.distribute` strategy, and `MultiWorkerFitMixin` (`multi_worker.py`) works
around Keras's `fit` under MultiWorkerMirroredStrategy; on JAX the first
raises with the `keras.distribution` equivalent and the second is inert. The
rest of tfrobust imports these only from here. (Input pipelines are `tf.data`
on every backend, as Keras's own are: they are not backend-specific; only a
JAX install without TensorFlow gets the recipes' batches from NumPy,
`tfrobust.data.numpy_epochs`.)
"""

import keras

from tfrobust.backend.multi_worker import MultiWorkerFitMixin
from tfrobust.backend.strategy import STRATEGIES
from tfrobust.backend.strategy import make_strategy
from tfrobust.backend.strategy import resolve_strategy_name

if keras.backend.backend() == "tensorflow":
    from tfrobust.backend.tensorflow import compile_model_fn
    from tfrobust.backend.tensorflow import test_step
    from tfrobust.backend.tensorflow import train_step
    from tfrobust.backend.tensorflow import value_and_grad
    from tfrobust.backend.tensorflow import xla_by_default
elif keras.backend.backend() == "jax":
    from tfrobust.backend.jax import compile_model_fn
    from tfrobust.backend.jax import test_step
    from tfrobust.backend.jax import train_step
    from tfrobust.backend.jax import value_and_grad
    from tfrobust.backend.jax import xla_by_default
else:
    raise ImportError(
        "tfrobust supports the 'tensorflow' and 'jax' Keras backends. "
        f"Received: KERAS_BACKEND={keras.backend.backend()!r}"
    )


def input_grad(fn, x):
    """Gradient of the scalar `fn(x)` with respect to `x`."""
    return value_and_grad(fn, x)[1]


__all__ = [
    "MultiWorkerFitMixin",
    "STRATEGIES",
    "compile_model_fn",
    "input_grad",
    "make_strategy",
    "resolve_strategy_name",
    "test_step",
    "train_step",
    "value_and_grad",
    "xla_by_default",
]
