"""Cross-check against IBM's Adversarial Robustness Toolbox on the same model and points.

FGSM must agree to float precision; our PGD and APGD must be at least as
strong as ART's (robust accuracy no more than one point higher), and our
L-inf Square random search within two points. ART's L2 Square departs from
the paper's reference code (it divides the new window by its target norm
instead of scaling to it), so L2 Square and FAB-T are checked against the
reference code in `test_reference_crosscheck.py` instead. TensorFlow only:
ART wraps the model with `TensorFlowV2Classifier`.
"""

import keras
import numpy as np
import pytest

from tfrobust.attacks import APGD
from tfrobust.attacks import FGSM
from tfrobust.attacks import PGD
from tfrobust.attacks import Square

if keras.backend.backend() != "tensorflow":
    pytest.skip("ART's TensorFlowV2Classifier needs the TF backend", allow_module_level=True)
evasion = pytest.importorskip("art.attacks.evasion")
classification = pytest.importorskip("art.estimators.classification")

ONE_POINT = 0.01


@pytest.fixture(scope="module")
def art_model(mnist_model):
    return classification.TensorFlowV2Classifier(
        mnist_model,
        nb_classes=10,
        input_shape=(28, 28, 1),
        clip_values=(0.0, 1.0),
        loss_object=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )


def accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(np.asarray(x), verbose=0), -1) == y))


def test_fgsm_matches_art(mnist_model, art_model, mnist_test):
    x, y = mnist_test
    ours = np.asarray(FGSM(0.3)(mnist_model, x, y))
    theirs = evasion.FastGradientMethod(art_model, eps=0.3, batch_size=len(x)).generate(x, y=y)
    grad = np.asarray(art_model.loss_gradient(x, np.eye(10, dtype="float32")[y]))
    differ = np.abs(ours - theirs) > 1e-6
    assert not np.any(differ & (grad != 0)), "FGSM differs from ART where the gradient is non-zero"


@pytest.mark.parametrize("norm, eps, step", [("linf", 0.3, 0.01), ("l2", 2.0, 0.1)])
def test_pgd_at_least_as_strong_as_art(mnist_model, art_model, mnist_test, norm, eps, step):
    x, y = mnist_test
    # Both from the clean point: random starts would differ, and on 200 points
    # their luck moves accuracy by more than the point we allow.
    theirs = evasion.ProjectedGradientDescent(
        art_model,
        norm=np.inf if norm == "linf" else 2,
        eps=eps,
        eps_step=step,
        max_iter=40,
        num_random_init=0,
        batch_size=len(x),
        verbose=False,
    ).generate(x, y=y)
    # L-inf runs the steps written out, L2 the compiled loop (the default): both paths checked.
    ours = PGD(eps, step_size=step, steps=40, norm=norm, random_start=False, unroll=norm == "linf")(
        mnist_model, x, y
    )
    acc_ours, acc_art = accuracy(mnist_model, ours, y), accuracy(mnist_model, theirs, y)
    print(f"PGD-40 {norm} eps={eps}: ours {acc_ours:.3f}, ART {acc_art:.3f}")
    assert acc_ours <= acc_art + ONE_POINT


def test_apgd_ce_at_least_as_strong_as_art(mnist_model, art_model, mnist_test):
    x, y = mnist_test
    np.random.seed(0)
    theirs = evasion.AutoProjectedGradientDescent(
        art_model,
        norm=np.inf,
        eps=0.3,
        eps_step=0.1,
        max_iter=100,
        nb_random_init=1,
        batch_size=len(x),
        loss_type="cross_entropy",
        verbose=False,
    ).generate(x, y=y)
    ours = APGD(0.3, steps=100, loss="ce", seed=0)(mnist_model, x, y)
    acc_ours, acc_art = accuracy(mnist_model, ours, y), accuracy(mnist_model, theirs, y)
    print(f"APGD-CE-100 linf eps=0.3: ours {acc_ours:.3f}, ART {acc_art:.3f}")
    assert acc_ours <= acc_art + ONE_POINT


def test_square_linf_as_strong_as_art(mnist_model, art_model, mnist_test):
    x, y = mnist_test
    np.random.seed(0)
    theirs = evasion.SquareAttack(
        art_model,
        norm=np.inf,
        eps=0.3,
        max_iter=1000,
        p_init=0.8,
        nb_restarts=1,
        batch_size=len(x),
        verbose=False,
    ).generate(x, y=y)
    ours = Square(0.3, n_queries=1000, seed=0)(mnist_model, x, y)
    acc_ours, acc_art = accuracy(mnist_model, ours, y), accuracy(mnist_model, theirs, y)
    print(f"Square-1000 linf eps=0.3: ours {acc_ours:.3f}, ART {acc_art:.3f}")
    assert acc_ours <= acc_art + 2 * ONE_POINT
