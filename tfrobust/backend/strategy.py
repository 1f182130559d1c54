"""`make_strategy(name)`: the `tf.distribute` strategy a training run uses.

`"auto"` picks what the hardware and the launcher ask for, so one script runs
unchanged on a laptop, a multi-GPU host and a cluster: MultiWorkerMirrored
when `TF_CONFIG` names several workers (each process of a multi-machine job),
Mirrored on a host with several GPUs, else the default strategy. Create the
strategy first thing in the program: MultiWorkerMirroredStrategy must exist
before TensorFlow runs any op. Build and compile the model under
`strategy.scope()`; `AdversarialModel.fit` then works with every strategy here
(multi-worker through `tfrobust.backend.multi_worker`).

On JAX the same names give Keras's own data parallelism instead
(`keras.distribution.DataParallel` over the local devices, whose `scope()`
the run enters the same way) or, on one device, a scope that changes nothing.
A multi-process JAX job calls `keras.distribution.initialize()` in each
process first; `"multi_worker"` is refused on JAX with that instruction.
"""

import contextlib
import json
import os

import keras

STRATEGIES = ("auto", "default", "mirrored", "multi_worker")


def resolve_strategy_name(name="auto", tf_config=None, num_gpus=None):
    """The concrete strategy `make_strategy(name)` builds: `name` itself unless `"auto"`.

    Args:
        name: one of `STRATEGIES`.
        tf_config: the `TF_CONFIG` JSON string; read from the environment if `None`.
        num_gpus: visible GPUs; asked of TensorFlow if `None`.
    """
    _check_name(name)
    if name != "auto":
        return name
    if tf_config is None:
        tf_config = os.environ.get("TF_CONFIG", "")
    if _num_workers(tf_config) > 1:
        return "multi_worker"
    if num_gpus is None:
        import tensorflow as tf

        num_gpus = len(tf.config.list_physical_devices("GPU"))
    return "mirrored" if num_gpus > 1 else "default"


def make_strategy(name="auto"):
    """A `tf.distribute.Strategy`: `"auto"`, `"default"`, `"mirrored"` or `"multi_worker"`.

    `"auto"` resolves as `resolve_strategy_name` says; the other names force
    one strategy (`"mirrored"` uses every local GPU, or the CPU without one;
    `"multi_worker"` reads the cluster from `TF_CONFIG`, or runs one local
    worker without it).

    Example:
        >>> import tfrobust
        >>> from tfrobust import architectures, attacks, objectives
        >>> strategy = make_strategy()  # on one CPU, the default strategy
        >>> with strategy.scope():
        ...     model = architectures.get("lenet")
        ...     robust = tfrobust.adversarial(model, objectives.PGDAT(), attacks.PGD(eps=0.3))
        ...     robust.compile(optimizer="sgd")

        `robust.fit(...)` then trains on every device of the strategy.
    """
    _check_name(name)
    if keras.backend.backend() == "jax":
        return _jax_distribution(name)
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "`make_strategy` supports the TensorFlow and JAX backends. "
            f"Received: KERAS_BACKEND={keras.backend.backend()!r}"
        )
    import tensorflow as tf

    resolved = resolve_strategy_name(name)
    if resolved == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if resolved == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


class SingleDevice:
    """What `make_strategy` gives on one JAX device: a `scope()` that changes nothing."""

    def scope(self):
        return contextlib.nullcontext()


def _jax_distribution(name):
    """Keras's data parallelism over the local JAX devices, or `SingleDevice` on one."""
    if name == "multi_worker":
        raise ValueError(
            "On JAX, a multi-process job calls `keras.distribution.initialize()` in each "
            "process, then trains under `keras.distribution.DataParallel()`; pass "
            "--strategy auto after initialising. Received: name='multi_worker'"
        )
    devices = keras.distribution.list_devices()
    if name != "default" and len(devices) > 1:
        return keras.distribution.DataParallel(devices=devices)
    return SingleDevice()


def _check_name(name):
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy. Expected one of {STRATEGIES}. Received: name={name!r}")


def _num_workers(tf_config):
    """Processes that train in a `TF_CONFIG` cluster (a chief trains like a worker)."""
    if not tf_config:
        return 0
    try:
        cluster = json.loads(tf_config).get("cluster", {})
    except (ValueError, AttributeError):
        raise ValueError(
            "TF_CONFIG must be a JSON object such as "
            '{"cluster": {"worker": ["host1:port", "host2:port"]}, '
            '"task": {"type": "worker", "index": 0}}. '
            f"Received: TF_CONFIG={tf_config!r}"
        ) from None
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))
