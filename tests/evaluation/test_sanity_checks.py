"""Sanity checks: pass on a sound evaluation, flag the classic broken ones."""

import keras
import numpy as np
import pytest
from keras import ops

from tfrobust.attacks.fgsm import FGSM
from tfrobust.attacks.pgd import PGD
from tfrobust.attacks.protocol import PerturbationBudgetError
from tfrobust.evaluation import SanityWarning
from tfrobust.evaluation import evaluate
from tfrobust.evaluation import sanity_checks
from tfrobust.evaluation.sanity import CHECKS


class Noise(keras.layers.Layer):
    """Adds fresh Gaussian noise at every call, even in inference: a randomised defense."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(0)

    def call(self, x):
        return x + keras.random.normal(ops.shape(x), stddev=0.1, seed=self.seed_generator)


class Quantize(keras.layers.Layer):
    """Rounds pixels to 4 levels: input gradients are exactly zero."""

    def call(self, x):
        return ops.stop_gradient(ops.round(x * 3.0) / 3.0) + 0.0 * x


def wrap(model, *layers, after=()):
    return keras.Sequential([keras.Input((28, 28, 1)), *layers, model, *after])


def test_all_checks_pass_on_an_adversarially_trained_model(robust_mnist_model, mnist_test):
    x, y = mnist_test
    report = sanity_checks(
        robust_mnist_model,
        x[:80],
        y[:80],
        eps=robust_mnist_model.train_eps,
        steps=5,
        square_queries=100,
    )
    assert [c.name for c in report.checks] == list(CHECKS)
    assert report.passed, [(c.name, c.message) for c in report.checks if not c.passed]
    assert (
        "1.0000" in report["perturbation_budget"].message
        or "0.99" in report["perturbation_budget"].message
    )


def test_flags_a_model_that_outputs_probabilities(robust_mnist_model, mnist_test):
    x, y = mnist_test
    softmax = wrap(robust_mnist_model, after=[keras.layers.Softmax()])
    with pytest.warns(SanityWarning, match="probabilities"):
        report = sanity_checks(softmax, x[:50], y[:50], checks=["probabilities"])
    assert report.failed == ["probabilities"]
    assert "flags_doc" in report["probabilities"].url


def test_flags_a_randomised_model(robust_mnist_model, mnist_test):
    x, y = mnist_test
    noisy = wrap(robust_mnist_model, Noise())
    with pytest.warns(SanityWarning, match="randomised_model"):
        report = sanity_checks(noisy, x[:50], y[:50], checks=["randomised_model"])
    assert report.failed == ["randomised_model"]


def test_flags_masked_gradients_and_blackbox_beating_whitebox(robust_mnist_model, mnist_test):
    x, y = mnist_test
    masked = wrap(robust_mnist_model, Quantize())
    with pytest.warns(SanityWarning):
        report = sanity_checks(
            masked,
            x[:60],
            y[:60],
            eps=0.3,
            steps=5,
            square_queries=100,
            large_eps=0.3,  # one APGD run serves both checks
            checks=["zero_gradients", "large_eps", "blackbox_vs_whitebox"],
        )
    assert set(report.failed) == {"zero_gradients", "large_eps", "blackbox_vs_whitebox"}


def test_evaluate_asserts_the_budget_of_a_broken_attack(robust_mnist_model, mnist_test):
    x, y = mnist_test

    class Overshoot(FGSM):
        def __call__(self, model, x, y):
            return np.clip(np.asarray(super().__call__(model, x, y)) * 1.0 + 0.05, 0, 1)

    with pytest.raises(PerturbationBudgetError, match="budget"):
        evaluate(robust_mnist_model, (x, y), attacks=[Overshoot(0.05)], eps=0.05, n=20)


class MisleadingGradient(keras.layers.Layer):
    """Identity forward; the gradient is scaled by cos(2 pi 255 x) per pixel.

    At a clean image (pixels on the 1/255 grid) the gradient is the true one, so
    one FGSM step from it is a real attack; off the grid most signs are wrong, so
    PGD's later steps wander: gradient masking that only iterative attacks suffer.
    """

    def call(self, x):
        fixed = ops.stop_gradient(x)
        return fixed + (x - fixed) * ops.cos(2 * np.pi * 255.0 * x)


@pytest.mark.jax
def test_evaluate_reports_iterative_attacks_no_weaker_than_fgsm(robust_mnist_model, mnist_test):
    x, y = mnist_test
    summary = evaluate(
        robust_mnist_model, (x, y), attacks=["fgsm", "pgd"], eps=robust_mnist_model.train_eps, n=100
    )
    check = next(c for c in summary.sanity if c.name == "iterative_vs_single_step")
    assert check.passed, check.message
    assert "fgsm" in check.message and "pgd" in check.message


@pytest.mark.jax
def test_evaluate_flags_pgd_weaker_than_fgsm(robust_mnist_model, mnist_test):
    x, y = mnist_test
    masked = wrap(robust_mnist_model, MisleadingGradient())
    eps = robust_mnist_model.train_eps
    with pytest.warns(SanityWarning, match="iterative_vs_single_step"):
        summary = evaluate(masked, (x, y), attacks=["fgsm", "pgd"], eps=eps, n=100)
    accuracy = {a.name: a.robust_accuracy for a in summary.attacks}
    assert accuracy["pgd"] > accuracy["fgsm"]
    failed = [c.name for c in summary.sanity if not c.passed]
    assert failed == ["iterative_vs_single_step"]


@pytest.mark.jax
def test_the_single_step_check_needs_fgsm_and_a_pgd_that_reaches_eps(
    robust_mnist_model, mnist_test
):
    x, y = mnist_test
    eps = robust_mnist_model.train_eps
    short = PGD(eps, step_size=eps / 10, steps=5, random_start=False, name="pgd-short")
    for attacks in (["pgd"], ["fgsm", short]):
        summary = evaluate(robust_mnist_model, (x, y), attacks=attacks, eps=eps, n=20)
        assert "iterative_vs_single_step" not in [c.name for c in summary.sanity]
