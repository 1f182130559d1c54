"""Worst-case ensemble of attacks: a point is robust only if it survives them all.

The attacks run in order, each only on the points the model still classifies
correctly, and the model is re-queried on every adversarial example: an
attack's own claim of success is never trusted, and an example outside the
threat model (out of [0, 1] or of the eps-ball) is an error, not a warning.
"""

import dataclasses
import time

import keras
import numpy as np

from tfrobust import validation

# Slack for float32 rounding of `x + eps` (a few ulps at 1.0).
BUDGET_ATOL = 1e-6


class PerturbationBudgetError(AssertionError):
    """An attack returned images outside [0, 1] or outside its eps-ball."""


def perturbation_norms(x, x_adv, norm):
    """Per-example L-inf or L2 norm of `x_adv - x` (NumPy, float64)."""
    delta = (np.asarray(x_adv, "float64") - np.asarray(x, "float64")).reshape(len(x), -1)
    if norm == "linf":
        return np.abs(delta).max(axis=1) if delta.size else np.zeros(len(x))
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
    limit = eps + atol + (1e-5 * eps if norm == "l2" else 0.0)
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
        logits = model(keras.ops.convert_to_tensor(x[start:start + batch_size]), training=False)
        out.append(np.argmax(keras.ops.convert_to_numpy(logits), axis=-1))
    return np.concatenate(out) if out else np.zeros((0,), "int64")


def attack_name(attack):
    """A short name: the attack's `name` attribute, else its class name in lower case."""
    return getattr(attack, "name", None) or type(attack).__name__.lower()


@dataclasses.dataclass(frozen=True)
class StageReport:
    """What one attack of an ensemble did.

    `robust_accuracy` is over all `n` points of the batch, after this stage
    (so it only goes down along the stages).
    """

    name: str
    n_attacked: int
    n_fooled: int
    robust_accuracy: float
    seconds: float


@dataclasses.dataclass(frozen=True)
class EnsembleReport:
    n: int
    clean_accuracy: float
    robust_accuracy: float
    stages: tuple
    robust: np.ndarray = dataclasses.field(repr=False, compare=False)
    skipped: tuple = ()

    def to_dict(self):
        return {"n": self.n, "clean_accuracy": self.clean_accuracy,
                "robust_accuracy": self.robust_accuracy,
                "stages": [dataclasses.asdict(s) for s in self.stages],
                "skipped": list(self.skipped)}


class Ensemble:
    """Run `attacks` in order on the points that are still robust.

    Args:
        attacks: attacks sharing one threat model (`eps`, `norm`), each a
            callable `attack(model, x, y) -> x_adv`.
        names: optional names for the report (default: `attack.name` or the
            lower-cased class name).
        batch_size: batch size of the re-queries of the model.

    Example:
        >>> ens = Ensemble([PGD(eps=8 / 255), Square(eps=8 / 255)])  # doctest: +SKIP
        >>> x_adv, report = ens.run(model, x, y)  # doctest: +SKIP
        >>> report.robust_accuracy  # doctest: +SKIP
    """

    def __init__(self, attacks, names=None, batch_size=256):
        attacks = list(attacks)
        if not attacks:
            raise ValueError("`attacks` must hold at least one attack. Received: []")
        threat = {(a.norm, round(float(a.eps), 12)) for a in attacks}
        if len(threat) != 1:
            raise ValueError(
                "All attacks of an ensemble must share one threat model. "
                f"Received: {sorted(threat)}"
            )
        names = [attack_name(a) for a in attacks] if names is None else list(names)
        if len(names) != len(attacks):
            raise ValueError(
                f"Expected one name per attack ({len(attacks)}). Received: names={names!r}"
            )
        self.attacks = attacks
        self.names = names
        self.norm = attacks[0].norm
        self.eps = float(attacks[0].eps)
        self.batch_size = int(batch_size)

    def stages(self, model, x, y):
        """The `(name, attack)` pairs to run; subclasses may build them per model."""
        return list(zip(self.names, self.attacks))

    def skipped(self):
        """Attacks of the intended ensemble that could not run (for the report)."""
        return ()

    def run(self, model, x, y):
        """Return `(x_adv, EnsembleReport)` for the batch `(x, y)`.

        `x_adv[i]` is the first adversarial example that actually fools the
        model, or `x[i]` where every attack failed.
        """
        x, y = validation.check_batch(model, x, y)
        n = len(x)
        robust = predict_labels(model, x, self.batch_size) == y
        clean_accuracy = float(robust.mean())
        x_adv = x.copy()
        reports = []
        for name, attack in self.stages(model, x, y):
            idx = np.flatnonzero(robust)
            start = time.perf_counter()
            fooled = np.zeros(0, bool)
            if idx.size:
                candidate = np.asarray(keras.ops.convert_to_numpy(
                    attack(model, x[idx], y[idx].astype("int32"))))
                assert_in_budget(x[idx], candidate, self.eps, self.norm, name=name)
                fooled = predict_labels(model, candidate, self.batch_size) != y[idx]
                x_adv[idx[fooled]] = candidate[fooled]
                robust[idx[fooled]] = False
            reports.append(StageReport(
                name=name, n_attacked=int(idx.size), n_fooled=int(fooled.sum()),
                robust_accuracy=float(robust.mean()),
                seconds=time.perf_counter() - start,
            ))
        report = EnsembleReport(
            n=n, clean_accuracy=clean_accuracy,
            robust_accuracy=float(robust.mean()),
            stages=tuple(reports), robust=robust, skipped=tuple(self.skipped()),
        )
        return x_adv, report

    def __call__(self, model, x, y):
        return self.run(model, x, y)[0]

    def get_config(self):
        return {"eps": self.eps, "norm": self.norm,
                "attacks": [{"name": name, **a.get_config()}
                            for name, a in zip(self.names, self.attacks)]}

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(map(repr, self.attacks))})"
