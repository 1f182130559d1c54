"""`AdversarialModel.fit` under MultiWorkerMirroredStrategy: two workers on 127.0.0.1.

Each worker is a fresh process (the strategy must exist before TensorFlow runs
any op) given its `TF_CONFIG`. Without `MultiWorkerFitMixin` the workers fail
inside `fit` (keras-team/keras#20585). The slow test also trains the same
global batches on one device and compares.
"""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

TIMEOUT_S = 120

# A worker starved of CPU (a shared, loaded test machine) can miss the 10 s
# heartbeat of TensorFlow's coordination service and abort the job. Configuring
# the service before the strategy does (as MultiWorkerMirroredStrategy would,
# with a longer timeout) takes private TensorFlow modules: test code only.
PATIENT_COORDINATION = r"""
from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
from tensorflow.python.distribute import multi_worker_util
from tensorflow.python.distribute.cluster_resolver import TFConfigClusterResolver
from tensorflow.python.eager import context
cluster = TFConfigClusterResolver().cluster_spec()
context.context().configure_coordination_service(
    service_type="standalone", service_leader=multi_worker_util.coordination_leader(cluster),
    heartbeat_timeout_in_ms=100_000,
    coordinated_jobs=[coordination_config_pb2.CoordinatedJob(
        name="worker", num_tasks=cluster.num_tasks("worker"))])
"""

SCRIPT = r"""
import json, os, sys
from tfrobust.backend import make_strategy, resolve_strategy_name
strategy = make_strategy("auto")  # before any other TensorFlow op
import keras
import numpy as np
from tfrobust import architectures, attacks, data, objectives
from tfrobust.training import adversarial

out = sys.argv[1]
train = data.load("mnist", "train", data.SAMPLE_DIR, batch_size=16, shuffle=True)
test = data.load("mnist", "test", data.SAMPLE_DIR, batch_size=16)
with strategy.scope():
    keras.utils.set_random_seed(0)
    model = architectures.get("lenet", num_classes=10, input_shape=(28, 28, 1))
    # No random start: the random draws would differ with the per-replica batch shape.
    attack = attacks.PGD(eps=0.3, step_size=0.1, steps=2, random_start=False)
    robust = adversarial(model, objectives.PGDAT(), attack)
    robust.compile(optimizer=keras.optimizers.SGD(0.05))
# Workers only: on one device an `AdversarialModel` is unbuilt before its first step.
callbacks = ([keras.callbacks.ModelCheckpoint(out + ".weights.h5", save_weights_only=True)]
             if "TF_CONFIG" in os.environ else [])
history = robust.fit(train, epochs=2, steps_per_epoch=2, validation_data=test,
                     validation_steps=1, callbacks=callbacks, verbose=0)
np.savez(out + ".npz", *model.get_weights())
with open(out + ".json", "w") as f:
    json.dump({"strategy": resolve_strategy_name(), "replicas": strategy.num_replicas_in_sync,
               "history": history.history}, f)
"""


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _start(out, tf_config=None):
    env = {
        "KERAS_BACKEND": "tensorflow",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PATH": "",
        "CUDA_VISIBLE_DEVICES": "",
    }
    if "TFROBUST_CACHE_DIR" in os.environ:
        env["TFROBUST_CACHE_DIR"] = os.environ["TFROBUST_CACHE_DIR"]
    script = SCRIPT
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
        script = PATIENT_COORDINATION + SCRIPT
    # Output to a file, not a pipe: a full pipe would block a worker mid-step.
    with open(f"{out}.log", "w") as log:
        return subprocess.Popen(
            [sys.executable, "-c", script, str(out)], env=env, stdout=log, stderr=subprocess.STDOUT
        )


def _wait_all(processes, logs):
    """Waits for every process; fails at the first failure or after `TIMEOUT_S`.

    A worker whose peer died waits forever in a collective, hence the polling.
    """
    deadline = time.monotonic() + TIMEOUT_S
    while any(p.poll() is None for p in processes):
        for process, log in zip(processes, logs):
            if process.poll() not in (None, 0):
                pytest.fail(f"{log.name} failed:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"training took more than {TIMEOUT_S} s")
        time.sleep(0.2)
    for process, log in zip(processes, logs):
        assert process.returncode == 0, f"{log.name} failed:\n{log.read_text()[-3000:]}"


def train(tmp, names, configs):
    """Runs one training process per name at once; their results, by name."""
    processes = []
    try:
        for name, config in zip(names, configs):
            processes.append(_start(tmp / name, config))
        _wait_all(processes, [tmp / f"{name}.log" for name in names])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    results = {}
    for name in names:
        results[name] = json.loads((tmp / f"{name}.json").read_text())
        with np.load(tmp / f"{name}.npz") as weights:
            results[name]["weights"] = [weights[f"arr_{i}"] for i in range(len(weights.files))]
        results[name]["checkpoint"] = tmp / f"{name}.weights.h5"
    return results


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    """Results of the two workers of one MultiWorkerMirroredStrategy job."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    configs = [{"cluster": cluster, "task": {"type": "worker", "index": i}} for i in (0, 1)]
    return train(tmp_path_factory.mktemp("multi_worker"), ["worker0", "worker1"], configs)


def test_two_workers_train_to_identical_weights(workers):
    worker0, worker1 = workers["worker0"], workers["worker1"]
    assert (worker0["strategy"], worker0["replicas"]) == ("multi_worker", 2)
    for w0, w1 in zip(worker0["weights"], worker1["weights"]):
        np.testing.assert_array_equal(w0, w1)
    assert worker0["history"] == worker1["history"]
    assert len(worker0["history"]["loss"]) == 2
    assert np.isfinite(worker0["history"]["loss"]).all()
    assert {"adv_accuracy", "val_loss", "val_adv_accuracy"} <= set(worker0["history"])


def test_each_worker_checkpoints_its_weights(workers):
    for result in workers.values():
        assert result["checkpoint"].stat().st_size > 0


@pytest.mark.slow
def test_two_workers_train_like_one_device(workers, tmp_path):
    one = train(tmp_path, ["one_device"], [None])["one_device"]
    assert (one["strategy"], one["replicas"]) == ("default", 1)
    for w1, w2 in zip(one["weights"], workers["worker0"]["weights"]):
        np.testing.assert_allclose(w1, w2, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        one["history"]["loss"], workers["worker0"]["history"]["loss"], rtol=1e-4
    )
