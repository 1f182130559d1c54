"""`MultiWorkerFitMixin`: Keras 3 `fit` under `tf.distribute.MultiWorkerMirroredStrategy`.

Keras 3's TensorFlow trainer fails under MultiWorkerMirroredStrategy with more
than one worker (keras-team/keras#20585, open; reproduced with TensorFlow 2.21
and Keras 3.15), while MirroredStrategy on one host works. Two places in
`keras/src/backend/tensorflow/trainer.py` break; both are only reached once a
strategy spans several workers:

1. `_maybe_symbolic_build` builds the model from a first batch reduced with
   `strategy.reduce("MEAN", (x, y), axis=None)`. `Strategy.reduce` takes one
   value, not a nest. On one host `reduce_non_distributed_value` passes the
   tuple through unchanged, which hides the bug; across workers the tuple goes
   to the collective all-reduce, which tries `convert_to_tensor` on it:
   `ValueError: Attempt to convert a value (PerReplica...) ... to a Tensor`.
   Only shapes and dtypes are needed here, so the mixin builds from the
   dataset's `element_spec`: no communication, and no batch is drawn (Keras's
   version draws one from the epoch's iterator, so with `steps_per_epoch`
   training skipped the first batch).
2. After each step, `reduce_per_replica(logs, strategy, "auto")` takes its
   multi-worker branch, `strategy.reduce("MEAN", v, axis=0)`, which assumes a
   batch axis that scalar logs (loss, accuracy) lack: `ValueError: Invalid
   reduction dimension 0 for input with 0 dimensions`. The mixin hands each
   log to Keras with a leading axis of length 1, so that reduction becomes the
   mean over all replicas of all workers, as `MirroredStrategy` logs on one
   host, and makes the results scalars again before callbacks see them.

Everything else is Keras's own `fit`: the compiled train and test steps (our
`train_step` included), `steps_per_execution`, callbacks, `History`,
checkpoints. Without a multi-worker strategy both overrides defer to Keras
untouched. Only the TensorFlow backend has these methods; on JAX, multi-process
training is `keras.distribution.DataParallel` after
`keras.distribution.initialize()`, and this mixin is inert.

Running it: every worker runs the same script with its own `TF_CONFIG` and
the same seeds (`tfrobust.data.load` shuffles with a fixed `seed`, so the
workers' shards of each global batch agree); `fit` splits each global batch
across all replicas. Checkpoint callbacks run on every worker and must write
to different paths (e.g. one per task index); the weights are identical.
`tests/training/test_multi_worker.py` runs two workers on 127.0.0.1.
"""

import keras
from keras import tree


def in_multi_worker_mode(strategy):
    """True when `strategy` is a MultiWorkerMirroredStrategy spanning several workers."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and strategy.extended._in_multi_worker_mode()
    )


class MultiWorkerFitMixin:
    """Mixin for `keras.Model` subclasses: `fit`/`evaluate` across TF workers.

    Put it before `keras.Model` in the bases. See the module docstring for the
    two Keras 3 bugs it works around (keras-team/keras#20585).
    """

    # Hooks of Keras's TensorFlow trainer. The JAX trainer has a `_make_function`
    # of its own, with another signature: it is passed through untouched.
    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if strategy is None or not in_multi_worker_mode(strategy):
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        if iterator is not None:
            data_batch = iterator.data_adapter.get_tf_dataset().element_spec
        else:
            data_batch = _first_local_replica(strategy, data_batch)
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def _make_function(self, step_function, *args, **kwargs):
        if keras.backend.backend() != "tensorflow" or not in_multi_worker_mode(
            self.distribute_strategy
        ):
            return super()._make_function(step_function, *args, **kwargs)

        def step_with_batch_axis(data):
            return tree.map_structure(_add_batch_axis, step_function(data))

        function = super()._make_function(step_with_batch_axis, *args, **kwargs)

        def function_with_scalar_logs(iterator):
            return tree.map_structure(_drop_batch_axis, function(iterator))

        return function_with_scalar_logs


def _first_local_replica(strategy, batch):
    import tensorflow as tf

    def first(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    return tree.map_structure(first, batch)


def _add_batch_axis(value):
    if value is None or keras.ops.ndim(value) != 0:
        return value
    return keras.ops.expand_dims(value, 0)


def _drop_batch_axis(value):
    # Keras's axis-0 reduction already returns scalars; this only guards
    # against a Keras that reduces without removing the axis.
    if value is None or tuple(value.shape) != (1,):
        return value
    return keras.ops.reshape(value, ())
