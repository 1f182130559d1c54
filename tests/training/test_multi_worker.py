"""`AdversarialModel.fit` under MultiWorkerMirroredStrategy: two workers on 127.0.0.1.

Each worker is a fresh process (the strategy must exist before TensorFlow runs
any op) given its `TF_CONFIG`; a third process trains the same global batches
on one device for reference. Without `MultiWorkerFitMixin` the workers fail
inside `fit` (keras-team/keras#20585).
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

TIMEOUT_S = 120

SCRIPT = r"""
import json, os, sys
from tfrobust.training.strategy import make_strategy
strategy = make_strategy("auto")  # before any other TensorFlow op
import keras
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
with open(out + ".json", "w") as f:
    json.dump({"strategy": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync,
               "history": history.history,
               "weights": [w.tolist() for w in model.get_weights()]}, f)
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
    env = {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "",
           "CUDA_VISIBLE_DEVICES": "", "TFROBUST_CACHE_DIR": os.environ["TFROBUST_CACHE_DIR"]}
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Results of two workers and of one device, all three run at once."""
    tmp = tmp_path_factory.mktemp("multi_worker")
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    names = ["worker0", "worker1", "one_device"]
    configs = [{"cluster": cluster, "task": {"type": "worker", "index": i}} for i in (0, 1)]
    processes = []
    try:
        for name, config in zip(names, configs + [None]):
            processes.append(_start(tmp / name, config))
        for name, process in zip(names, processes):
            _, stderr = process.communicate(timeout=TIMEOUT_S)
            assert process.returncode == 0, f"{name} failed:\n{stderr[-3000:]}"
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    return {name: json.loads((tmp / f"{name}.json").read_text()) | {"path": tmp / name}
            for name in names}


def test_two_workers_train_to_identical_weights(runs):
    worker0, worker1 = runs["worker0"], runs["worker1"]
    assert (worker0["strategy"], worker0["replicas"]) == ("MultiWorkerMirroredStrategy", 2)
    for w0, w1 in zip(worker0["weights"], worker1["weights"]):
        np.testing.assert_array_equal(w0, w1)
    assert worker0["history"] == worker1["history"]
    assert np.isfinite(worker0["history"]["loss"]).all()
    assert len(worker0["history"]["loss"]) == 2
    assert {"adv_accuracy", "val_loss", "val_adv_accuracy"} <= set(worker0["history"])


def test_two_workers_train_like_one_device(runs):
    one = runs["one_device"]
    assert (one["strategy"], one["replicas"]) == ("_DefaultDistributionStrategy", 1)
    for w1, w2 in zip(one["weights"], runs["worker0"]["weights"]):
        np.testing.assert_allclose(w1, w2, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(one["history"]["loss"], runs["worker0"]["history"]["loss"],
                               rtol=1e-4)


def test_each_worker_checkpoints_its_weights(runs):
    for name in ("worker0", "worker1"):
        assert (runs[name]["path"].parent / f"{name}.weights.h5").stat().st_size > 0
