"""The evaluation protocol: attack the points still robust, re-query the model, update.

Every robustness number of the library (`Ensemble` and `AutoAttack`,
`tfrobust.evaluation.evaluate`, the sanity checks) comes from
`attack_still_robust`, AutoAttack's rule: an attack runs only on the points
the model still classifies correctly, its examples must lie in [0, 1] and in
its eps-ball (`PerturbationBudgetError` otherwise, not a warning), and the
model is re-queried on every example: an attack's own claim of success is
never trusted.
"""

import dataclasses

import keras
import numpy as np

# Slack for float32 rounding of `x + eps` (a few ulps at 1.0).
BUDGET_ATOL = 1e-6


class PerturbationBudgetError(AssertionError):
    """An attack returned images outside [0, 1] or outside its eps-ball."""


def perturbation_norms(x, x_adv, norm):
    """Per-example L-inf, L2 or L1 norm of `x_adv - x` (NumPy, float64)."""
    delta = (np.asarray(x_adv, "float64") - np.asarray(x, "float64")).reshape(len(x), -1)
    if norm == "linf":
        return np.abs(delta).max(axis=1) if delta.size else np.zeros(len(x))
    if norm == "l1":
        return np.abs(delta).sum(axis=1)
    return np.sqrt((delta**2).sum(axis=1))


def assert_in_budget(x, x_adv, eps, norm, name="attack", atol=BUDGET_ATOL):
    """Raise `PerturbationBudgetError` unless every `x_adv` is a valid image in the ball.

    Returns the per-example perturbation norms.
    """
    x_adv = np.asarray(x_adv)
    if x_adv.shape != np.shape(x):
        raise PerturbationBudgetError(
            f"{name} returned a batch of shape {x_adv.shape}; expected {np.shape(x)}"
        )
    if not np.all(np.isfinite(x_adv)):
        raise PerturbationBudgetError(f"{name} returned non-finite values")
    lo, hi = float(x_adv.min(initial=0.0)), float(x_adv.max(initial=1.0))
    if lo < 0.0 or hi > 1.0:
        raise PerturbationBudgetError(
            f"{name} returned values in [{lo:g}, {hi:g}], outside the image box [0, 1]"
        )
    norms = perturbation_norms(x, x_adv, norm)
    limit = eps + atol + (0.0 if norm == "linf" else 1e-5 * eps)  # float32 sums
    over = norms > limit
    if over.any():
        raise PerturbationBudgetError(
            f"{name}: {int(over.sum())} of {len(norms)} examples exceed the {norm} budget "
            f"eps={eps:g} (largest norm {norms.max():g})"
        )
    return norms


def predict_labels(model, x, batch_size=256):
    """The model's predicted classes on `x`, in batches, inference mode."""
    out = []
    for start in range(0, len(x), batch_size):
        logits = model(keras.ops.convert_to_tensor(x[start : start + batch_size]), training=False)
        out.append(np.argmax(keras.ops.convert_to_numpy(logits), axis=-1))
    return np.concatenate(out) if out else np.zeros((0,), "int64")


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One attack on the points still robust.

    Attributes:
        robust: the robust mask after the attack (a new array).
        index: the points attacked, those where the mask held before.
        x_adv: their adversarial examples, in the order of `index`.
        fooled: per attacked point, whether the model misclassifies its example.
        norms: per attacked point, the norm of its perturbation.
    """

    robust: np.ndarray
    index: np.ndarray
    x_adv: np.ndarray
    fooled: np.ndarray
    norms: np.ndarray


def attack_still_robust(model, attack, x, y, robust, batch_size=256, name=None):
    """Run `attack` on the points of `(x, y)` where `robust` holds; return an `Attempt`.

    The examples are checked against the attack's own threat model (`attack.eps`,
    `attack.norm`) and the model is re-queried on them in batches of `batch_size`;
    `name` (default `attack.name`) names the attack in a `PerturbationBudgetError`.
    """
    robust = np.array(robust, bool)
    index = np.flatnonzero(robust)
    if not index.size:
        return Attempt(robust, index, x[:0], np.zeros(0, bool), np.zeros(0))
    x_adv = np.asarray(
        keras.ops.convert_to_numpy(attack(model, x[index], y[index].astype("int32")))
    )
    norms = assert_in_budget(x[index], x_adv, attack.eps, attack.norm, name=name or attack.name)
    fooled = predict_labels(model, x_adv, batch_size) != y[index]
    robust[index[fooled]] = False
    return Attempt(robust, index, x_adv, fooled, norms)
