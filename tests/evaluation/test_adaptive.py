"""Adaptive attacks: each defense's own attack finds what the plain attack misses.

The tiny models here are built so that the plain attack provably (or with
overwhelming probability, seeded) fails while the adaptive one succeeds, and
`evaluate` must add the adaptive attack by itself.
"""

import keras
import numpy as np
import pytest
from keras import ops

from tfrobust import architectures
from tfrobust import attacks
from tfrobust import evaluation
from tfrobust import layers
from tfrobust.evaluation import adaptive
from tfrobust.layers import auxiliary_logits

EPS = 0.1


def _margin(x):
    """Three logits whose class 0 wins iff the image's mean exceeds 0.5."""
    s = 16.0 * (ops.mean(x, axis=(1, 2, 3)) - 0.5)
    return s, lambda s: ops.stack([s, -s, ops.full_like(s, -10.0)], axis=-1)


class MaskedOutputHead(keras.layers.Layer):
    """Its output carries no gradient; its auxiliary head, with the same logits, does."""

    adaptive_attacks = ("joint-pgd",)

    def call(self, x):
        s, logits = _margin(x)
        auxiliary_logits.emit(logits(s))
        return ops.stop_gradient(logits(s))


class MisleadingNoise(keras.layers.Layer):
    """Random at inference: one draw's gradient points the wrong way 2 times in 3.

    The gradient is `(1 + 2r)` times the true one, `r` = -1 (p = 2/3) or 2
    (p = 1/3), mean 0: its expectation is right, a single draw usually not.
    The value moves by at most 5e-4, far below the points' margin.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(0)

    def call(self, x):
        s, logits = _margin(x)
        u = keras.random.uniform(ops.shape(s), seed=self.seed_generator)
        r = ops.where(u < 2 / 3, -1.0, 2.0)
        s = s + r * (2 * s - ops.stop_gradient(2 * s)) + 1e-3 * (u - 0.5)
        return logits(s)


def _model(layer):
    return keras.Sequential([keras.Input((4, 4, 1)), layer])


def _points(n=8):
    """Class-0 images with mean 0.55: the budget 0.1 can push them to class 1."""
    return np.full((n, 4, 4, 1), 0.55, "float32"), np.zeros(n, "int64")


FIXED_START = {"pgd": {"random_start": False}}


@pytest.mark.jax
def test_joint_pgd_breaks_a_head_that_masks_the_output_gradient():
    model = _model(MaskedOutputHead(name="masked"))
    summary = evaluation.evaluate(
        model, _points(), attacks=["pgd"], eps=EPS, n=None, attack_kwargs=FIXED_START
    )
    robust = {a.name: a.robust_accuracy for a in summary.attacks}
    assert robust == {"pgd": 1.0, "joint-pgd": 0.0}
    joint = summary.attacks[1]
    assert joint.adaptive_for == ["masked (MaskedOutputHead)"]
    assert summary.robust_accuracy_non_adaptive == 1.0
    assert summary.robust_accuracy == 0.0
    assert "1.00" not in "".join(adaptive.describe(summary))  # the text carries percentages
    assert "100.00% lower" in adaptive.describe(summary)[-1]


@pytest.mark.jax
def test_adaptive_false_runs_only_the_requested_attacks():
    model = _model(MaskedOutputHead())
    summary = evaluation.evaluate(
        model,
        _points(),
        attacks=["pgd"],
        eps=EPS,
        n=None,
        attack_kwargs=FIXED_START,
        adaptive=False,
    )
    assert [a.name for a in summary.attacks] == ["pgd"]
    assert summary.robust_accuracy == 1.0
    assert summary.robust_accuracy_non_adaptive is None


@pytest.mark.jax
def test_an_attack_configured_as_the_adaptive_one_is_not_run_twice():
    model = _model(MaskedOutputHead(name="masked"))
    configs = {"pgd": {"attack": "joint-pgd", "random_start": False}}
    summary = evaluation.evaluate(
        model, _points(), attacks=["pgd"], eps=EPS, n=None, attack_kwargs=configs
    )
    assert [(a.name, a.adaptive_for) for a in summary.attacks] == [
        ("pgd", ["masked (MaskedOutputHead)"])
    ]
    assert summary.robust_accuracy_non_adaptive is None


def test_eot_breaks_a_model_whose_single_draw_gradient_misleads():
    model = _model(MisleadingNoise())
    x, y = _points()
    summary = evaluation.evaluate(
        model,
        (x, y),
        attacks=["pgd"],
        eps=EPS,
        n=None,
        attack_kwargs={**FIXED_START, "autoattack-rand": {"apgd_steps": 20}},
    )
    robust = {a.name: a.robust_accuracy for a in summary.attacks}
    assert list(robust) == ["pgd", "eot-pgd", "autoattack-rand"]
    assert robust["pgd"] >= 0.75
    assert robust["eot-pgd"] <= 0.25 and robust["autoattack-rand"] <= 0.25
    assert all(a.adaptive_for == [adaptive.RANDOMISED] for a in summary.attacks[1:])


@pytest.mark.jax
def test_a_randomised_model_is_refused_on_jax_and_recognised_on_tensorflow():
    model = _model(MisleadingNoise())
    x, _ = _points(4)
    if keras.backend.backend() == "jax":
        with pytest.raises(ValueError, match="KERAS_BACKEND=tensorflow"):
            adaptive.adaptive_attacks(model, x)
    else:
        assert adaptive.adaptive_attacks(model, x) == {
            "eot-pgd": [adaptive.RANDOMISED],
            "autoattack-rand": [adaptive.RANDOMISED],
        }
    assert not adaptive.is_randomised(_model(MaskedOutputHead()), x)


@pytest.mark.jax
@pytest.mark.parametrize(
    "insert, attack, heads",
    [
        (lambda: architectures.fsr_insert("resnet20", 10), "joint-pgd", 2),
        (lambda: architectures.cifs_insert("resnet20", 10), "joint-pgd", 1),
        (lambda: architectures.cas_insert("resnet20", 10), "joint-pgd", 1),
        (
            lambda: architectures.denoising_insert("resnet20", operation="mean"),
            "pgd-random-target",
            0,
        ),
    ],
)
def test_each_defense_layer_declares_its_adaptive_attack_and_emits_its_heads(insert, attack, heads):
    model = architectures.get("resnet20", width=0.25, input_shape=(16, 16, 3), insert=insert())
    x = np.random.default_rng(0).uniform(size=(2, 16, 16, 3)).astype("float32")
    found = adaptive.adaptive_attacks(model, x)
    assert list(found) == [attack]
    assert all(name.endswith(")") for name in found[attack])
    with layers.auxiliary_logits_scope() as emitted:
        model(x, training=False)
    assert len(emitted) == heads * len(found[attack])
    assert all(tuple(h.shape) == (2, 10) for h in emitted)


def test_autoattack_rand_has_the_reference_settings():
    """auto-attack `set_version("rand")`: APGD-CE and APGD-DLR, 1 restart, eot_iter 20."""
    aa = attacks.AutoAttack(8 / 255, version="rand", seed=0)
    assert aa.names == ["apgd-ce", "apgd-dlr"]
    assert [(a.loss, a.restarts, a.steps, a.eot_samples) for a in aa.attacks] == [
        ("ce", 1, 100, 20),
        ("dlr", 1, 100, 20),
    ]
    assert aa.skipped() == ()
    assert aa.with_eps(4 / 255).version == "rand"
