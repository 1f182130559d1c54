"""`make_strategy`: which strategy each name and environment gives.

MultiWorkerMirroredStrategy can only be created before TensorFlow runs any op,
so here only its selection is tested; `test_multi_worker.py` creates it.
"""

import json

import keras
import pytest

from tfrobust.backend.strategy import STRATEGIES
from tfrobust.backend.strategy import make_strategy
from tfrobust.backend.strategy import resolve_strategy_name


def tf_config(workers, chief=0):
    cluster = {"worker": [f"127.0.0.1:{2000 + i}" for i in range(workers)]}
    if chief:
        cluster["chief"] = ["127.0.0.1:1999"]
    return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}})


@pytest.mark.parametrize(
    "config, gpus, expected",
    [
        ("", 0, "default"),
        ("", 1, "default"),
        ("", 4, "mirrored"),
        (tf_config(1), 4, "mirrored"),  # one worker is one host: its GPUs decide
        (tf_config(2), 0, "multi_worker"),
        (tf_config(1, chief=1), 0, "multi_worker"),  # a chief trains too
    ],
)
def test_auto_follows_tf_config_then_gpus(config, gpus, expected):
    assert resolve_strategy_name("auto", tf_config=config, num_gpus=gpus) == expected


@pytest.mark.parametrize("name", ["default", "mirrored", "multi_worker"])
def test_explicit_name_forces_that_strategy(name):
    assert resolve_strategy_name(name, tf_config=tf_config(2), num_gpus=4) == name


def test_auto_reads_tf_config_from_the_environment(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", tf_config(3))
    assert resolve_strategy_name() == "multi_worker"


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="multi_worker.*Received: name='horovod'"):
        make_strategy("horovod")
    assert STRATEGIES == ("auto", "default", "mirrored", "multi_worker")


def test_malformed_tf_config_is_reported():
    with pytest.raises(ValueError, match="TF_CONFIG must be a JSON object.*Received"):
        resolve_strategy_name("auto", tf_config="worker=127.0.0.1:2000")


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute")
def test_builds_default_and_mirrored_strategies():
    import tensorflow as tf

    assert make_strategy("default") is tf.distribute.get_strategy()
    mirrored = make_strategy("mirrored")
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    assert mirrored.num_replicas_in_sync == max(1, len(tf.config.list_physical_devices("GPU")))


def test_jax_gets_keras_data_parallelism_or_a_plain_scope(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ValueError, match="keras.distribution.initialize"):
        make_strategy("multi_worker")
    monkeypatch.setattr(keras.distribution, "list_devices", lambda: ["cpu:0"])
    with make_strategy("auto").scope():
        pass
    monkeypatch.setattr(keras.distribution, "list_devices", lambda: ["gpu:0", "gpu:1"])
    assert isinstance(make_strategy("auto"), keras.distribution.DataParallel)
    assert not isinstance(make_strategy("default"), keras.distribution.DataParallel)
