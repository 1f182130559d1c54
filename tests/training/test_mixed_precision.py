"""Mixed precision: one `fit` step of every objective under each policy, on both backends.

The network computes in bfloat16 or float16; the logits, the objective's
losses, the defense layers' losses and the attack's gradient stay float32
(`AdversarialModel`, `backend.compile_model_fn`).
"""

import keras
import numpy as np
import pytest

import tfrobust
from tfrobust import attacks
from tfrobust import objectives
from tfrobust.layers import FSR

OBJECTIVES = {
    "standard": objectives.Standard,
    "pgd_at": objectives.PGDAT,
    "trades": objectives.TRADES,
    "mart": objectives.MART,
    "alp": objectives.ALP,
    "aalp": objectives.AALP,
}


@pytest.fixture(params=["mixed_bfloat16", "mixed_float16"])
def policy(request):
    keras.mixed_precision.set_global_policy(request.param)
    yield request.param
    keras.mixed_precision.set_global_policy("float32")


def tiny_fsr_model():
    inputs = keras.Input((8, 8, 1))
    features = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    features = FSR(4, num_classes=10, hidden_channels=4, seed=0)(features)
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    return keras.Model(inputs, keras.layers.Dense(10, name="classifier")(pooled))


@pytest.mark.jax
@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_one_fit_step_under_mixed_precision(policy, name):
    keras.utils.set_random_seed(0)
    model = tiny_fsr_model()
    assert model.compute_dtype != "float32"
    objective = OBJECTIVES[name]()
    attack = None if name == "standard" else attacks.PGD(eps=0.1, step_size=0.05, steps=2)
    if name == "aalp":
        model = tfrobust.layers.with_guided_dropout(model)
    robust = tfrobust.adversarial(model, objective, attack)
    robust.compile(optimizer=keras.optimizers.SGD(0.1))
    before = [np.array(w, "float32") for w in model.trainable_weights]
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(8, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 10, 8)
    history = robust.fit(x, y, batch_size=8, epochs=1, verbose=0)
    losses = {k: v[-1] for k, v in history.history.items() if "accuracy" not in k}
    assert all(np.isfinite(v) for v in losses.values()), losses
    assert losses["layer_loss"] > 0  # FSR's losses counted, in float32
    after = [np.array(w, "float32") for w in model.trainable_weights]
    classifier = [i for i, w in enumerate(model.trainable_weights) if "classifier" in w.path]
    assert any(not np.array_equal(before[i], after[i]) for i in classifier)
