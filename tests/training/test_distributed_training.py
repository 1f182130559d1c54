"""`AdversarialModel.fit` under `tf.distribute.MirroredStrategy` on two logical CPUs.

Logical devices must be configured before TensorFlow starts, so each run is a
fresh process; the test compares the weights it trains with those of one device.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from tfrobust import attacks, objectives
from tfrobust.training import adversarial

replicas = int(sys.argv[1])
strategy = (tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]) if replicas == 2
            else tf.distribute.get_strategy())
rng = np.random.default_rng(0)
x, y = rng.random((32, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, 32)
with strategy.scope():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3),
                              keras.layers.Flatten(), keras.layers.Dense(3)])
    # MART: a two-pass objective whose CE attack moves deterministically from x (TRADES's
    # KL has a zero gradient at x, so without a random start its steps are sign(noise)).
    robust = adversarial(model, objectives.MART(),
                         attacks.PGD(eps=0.1, step_size=0.05, steps=2, random_start=False))
    robust.compile(optimizer=keras.optimizers.SGD(0.5))
history = robust.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(16), epochs=2,
                     verbose=0).history
print(json.dumps({"replicas": strategy.num_replicas_in_sync,
                  "weights": [w.tolist() for w in model.get_weights()],
                  "loss": history["loss"]}))
"""


def _train(replicas):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(replicas)],
        capture_output=True,
        text=True,
        env={"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_two_replicas_train_like_one_device():
    one, two = _train(1), _train(2)
    assert (one["replicas"], two["replicas"]) == (1, 2)
    for w1, w2 in zip(one["weights"], two["weights"]):
        np.testing.assert_allclose(w1, w2, rtol=1e-4, atol=1e-5)
    assert one["loss"] == pytest.approx(two["loss"], rel=1e-4)
