"""Worst-case ensemble of attacks: a point is robust only if it survives them all.

The attacks run in order, each only on the points the model still classifies
correctly, and the model is re-queried on every adversarial example
(`tfrobust.attacks.protocol`): an attack's own claim of success is never
trusted, and an example outside the threat model (out of [0, 1] or of the
eps-ball) is an error, not a warning.
"""

import dataclasses
import time

import numpy as np

from tfrobust import validation
from tfrobust.attacks.protocol import attack_still_robust
from tfrobust.attacks.protocol import predict_labels


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
        return {
            "n": self.n,
            "clean_accuracy": self.clean_accuracy,
            "robust_accuracy": self.robust_accuracy,
            "stages": [dataclasses.asdict(s) for s in self.stages],
            "skipped": list(self.skipped),
        }


class Ensemble:
    """Run `attacks` in order on the points that are still robust.

    Args:
        attacks: attacks sharing one threat model (`eps`, `norm`), each a
            callable `attack(model, x, y) -> x_adv` with a `name`.
        names: optional names for the report (default: each attack's `name`).
        batch_size: batch size of the re-queries of the model.
        name: the ensemble's name (default: its class name in lower case).

    Example:
        >>> ens = Ensemble([PGD(eps=8 / 255), Square(eps=8 / 255)])  # doctest: +SKIP
        >>> x_adv, report = ens.run(model, x, y)  # doctest: +SKIP
        >>> report.robust_accuracy  # doctest: +SKIP
    """

    def __init__(self, attacks, names=None, batch_size=256, name=None):
        attacks = list(attacks)
        if not attacks:
            raise ValueError("`attacks` must hold at least one attack. Received: []")
        threat = {(a.norm, round(float(a.eps), 12)) for a in attacks}
        if len(threat) != 1:
            raise ValueError(
                "All attacks of an ensemble must share one threat model. "
                f"Received: {sorted(threat)}"
            )
        names = [a.name for a in attacks] if names is None else list(names)
        if len(names) != len(attacks):
            raise ValueError(
                f"Expected one name per attack ({len(attacks)}). Received: names={names!r}"
            )
        self.attacks = attacks
        self.names = names
        self.norm = attacks[0].norm
        self.eps = float(attacks[0].eps)
        self.batch_size = int(batch_size)
        self.name = name or type(self).__name__.lower()

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
            start = time.perf_counter()
            attempt = attack_still_robust(model, attack, x, y, robust, self.batch_size, name)
            robust = attempt.robust
            x_adv[attempt.index[attempt.fooled]] = attempt.x_adv[attempt.fooled]
            reports.append(
                StageReport(
                    name=name,
                    n_attacked=int(attempt.index.size),
                    n_fooled=int(attempt.fooled.sum()),
                    robust_accuracy=float(robust.mean()),
                    seconds=time.perf_counter() - start,
                )
            )
        report = EnsembleReport(
            n=n,
            clean_accuracy=clean_accuracy,
            robust_accuracy=float(robust.mean()),
            stages=tuple(reports),
            robust=robust,
            skipped=tuple(self.skipped()),
        )
        return x_adv, report

    def __call__(self, model, x, y):
        return self.run(model, x, y)[0]

    def with_eps(self, eps, seed=None):
        """The same ensemble at budget `eps`: each attack's `with_eps(eps, seed)`."""
        return Ensemble(
            [a.with_eps(eps, seed) for a in self.attacks],
            names=self.names,
            batch_size=self.batch_size,
            name=self.name,
        )

    def get_config(self):
        return {
            "eps": self.eps,
            "norm": self.norm,
            "attacks": [
                {"name": name, **a.get_config()} for name, a in zip(self.names, self.attacks)
            ],
        }

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(map(repr, self.attacks))})"
