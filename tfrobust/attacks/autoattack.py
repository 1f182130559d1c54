"""AutoAttack (Croce & Hein 2020): its versions of a worst-case ensemble of attacks.

Every version runs its attacks in order, each only on the points still
classified correctly, re-querying the model on every adversarial example
(`Ensemble.run`, `tfrobust.attacks.protocol`). The versions are those of the
reference's `AutoAttack._set_version`:

- `standard`: APGD-CE, APGD-T (9 target classes), FAB-T (9), Square (5000
  queries). The white-box attacks come first; the score-based Square attack
  last catches gradient masking. At L1 (the reference's settings for it),
  APGD-CE has 5 restarts, APGD-T 5 target classes, and both run 30% of their
  steps at 3 eps and 30% at 2 eps before 40% at eps (`use_largereps`).
- `plus`: more restarts and more attacks, APGD-CE and APGD-DLR (5 restarts
  each), untargeted FAB (5 restarts), Square, APGD-T and FAB-T (9 targets).
- `rand`, for models that are random at inference: APGD-CE and APGD-DLR with
  the gradient averaged over 20 draws (EOT), one restart each.
"""

import keras

from tfrobust.argument_validation import check_choice
from tfrobust.argument_validation import check_int
from tfrobust.attacks.apgd import APGD
from tfrobust.attacks.apgd import APGDT
from tfrobust.attacks.ensemble import Ensemble
from tfrobust.attacks.fab import FAB
from tfrobust.attacks.fab import FABT
from tfrobust.attacks.square import Square

VERSIONS = ("standard", "plus", "rand", "custom")
RAND_EOT_SAMPLES = 20  # the reference's `apgd.eot_iter` in its "rand" version
# Each version's attacks, in the order they run (the reference's `attacks_to_run`).
ORDER = {
    "standard": ("apgd-ce", "apgd-t", "fab-t", "square"),
    "plus": ("apgd-ce", "apgd-dlr", "fab", "square", "apgd-t", "fab-t"),
    "rand": ("apgd-ce", "apgd-dlr"),
}
N_TARGETS = 9  # AutoAttack's target classes, fewer on data with fewer classes


def _seed(seed, offset):
    return None if seed is None else int(seed) + offset


class AutoAttack(Ensemble):
    """AutoAttack's standard, plus or rand ensemble, or a custom list of attacks.

    Args:
        eps: budget in the [0, 1] pixel scale (8/255 for CIFAR-10 L-inf, 0.5
            at L2, 12 at L1).
        norm: `"linf"`, `"l2"` or `"l1"`.
        version: `"standard"` (APGD-CE, APGD-T, FAB-T, Square with AutoAttack's
            settings, its L1 settings at L1), `"plus"` (APGD-CE, APGD-DLR, FAB,
            Square, APGD-T, FAB-T with more restarts), `"rand"` (APGD-CE and
            APGD-DLR with EOT over 20 draws, for randomised models) or
            `"custom"` (the attacks given in `attacks`); see the module
            docstring for each version's settings.
        seed: base seed; the `i`-th attack of a version gets `seed + i`.
        attacks: the attacks of the `"custom"` version.
        apgd_steps, fab_steps, square_queries: budgets of the attacks
            (AutoAttack: 100, 100, 5000). Lower them only for quick checks;
            the config records them.
        batch_size: batch size of the re-queries of the model.
        name: the name in reports (default `"autoattack"`).

    The targeted attacks use `min(n, num_classes - 1)` of their `n` target
    classes, as AutoAttack does, and an attack whose loss needs more classes
    than the data has (APGD-T: 4, APGD-DLR: 3) is skipped and reported so: the
    stages, built for 10 classes or more, are rebuilt once for fewer.

    Example:
        >>> aa = AutoAttack(eps=8 / 255, seed=0)  # doctest: +SKIP
        >>> x_adv, report = aa.run(model, x, y)  # doctest: +SKIP
        >>> [(s.name, s.robust_accuracy) for s in report.stages]  # doctest: +SKIP
        >>> aa = AutoAttack(eps=12.0, norm="l1", version="plus", seed=0)  # doctest: +SKIP

    Reference:
        Croce & Hein, "Reliable evaluation of adversarial robustness with an
        ensemble of diverse parameter-free attacks", ICML 2020; Croce & Hein,
        "Mind the box: l1-APGD for sparse adversarial attacks on image
        classifiers", ICML 2021 (the L1 settings).
    """

    def __init__(
        self,
        eps,
        norm="linf",
        version="standard",
        seed=None,
        attacks=None,
        apgd_steps=100,
        fab_steps=100,
        square_queries=5000,
        batch_size=256,
        name=None,
    ):
        check_choice("version", version, VERSIONS)
        if (version == "custom") != (attacks is not None):
            raise ValueError(
                "Pass `attacks` exactly when version='custom'. "
                f"Received: version={version!r}, attacks={attacks!r}"
            )
        self.version = version
        self.seed = seed
        self.apgd_steps = check_int("apgd_steps", apgd_steps)
        self.fab_steps = check_int("fab_steps", fab_steps)
        self.square_queries = check_int("square_queries", square_queries)
        if version != "custom":
            attacks = self._build(eps, norm, num_classes=None)
        super().__init__(attacks, batch_size=batch_size, name=name)
        self._by_classes = {}  # the stages run, by number of classes

    def _build(self, eps, norm, num_classes):
        """The version's attacks, in order, for `num_classes` classes (None: 10 or more)."""
        version, l1_standard = self.version, self.version == "standard" and norm == "l1"

        def targets(n):
            return n if num_classes is None else min(n, num_classes - 1)

        def make(name, i):
            seed = _seed(self.seed, i)
            if name in ("apgd-ce", "apgd-dlr"):
                restarts = 5 if version == "plus" or l1_standard else 1
                return APGD(
                    eps,
                    norm=norm,
                    steps=self.apgd_steps,
                    restarts=restarts,
                    loss=name.removeprefix("apgd-"),
                    large_eps=l1_standard,
                    seed=seed,
                    name=name,
                    eot_samples=RAND_EOT_SAMPLES if version == "rand" else 1,
                )
            if name == "apgd-t":
                n = targets(5 if l1_standard else N_TARGETS)
                return (
                    APGDT(
                        eps,
                        norm=norm,
                        steps=self.apgd_steps,
                        n_target_classes=n,
                        large_eps=l1_standard,
                        seed=seed,
                        name=name,
                    )
                    if n >= 3
                    else None
                )
            if name == "fab":
                return FAB(eps, norm=norm, steps=self.fab_steps, restarts=5, seed=seed, name=name)
            if name == "fab-t":
                return FABT(
                    eps,
                    norm=norm,
                    steps=self.fab_steps,
                    n_target_classes=targets(N_TARGETS),
                    seed=seed,
                    name=name,
                )
            return Square(
                eps, norm=norm, n_queries=self.square_queries, p_init=0.8, seed=seed, name=name
            )

        built = [
            make(name, i)
            for i, name in enumerate(ORDER[version])
            if not (name == "apgd-dlr" and num_classes is not None and num_classes < 3)
        ]
        return [a for a in built if a is not None]

    def stages(self, model, x, y):
        if self.version == "custom":
            return super().stages(model, x, y)
        num_classes = int(keras.ops.shape(model(x[:1], training=False))[-1])
        if num_classes not in self._by_classes:
            self._by_classes[num_classes] = (
                self.attacks
                if num_classes > N_TARGETS
                else self._build(self.eps, self.norm, num_classes)
            )
        return [(a.name, a) for a in self._by_classes[num_classes]]

    def skipped(self):
        if not self._by_classes:
            return ()
        ran = {a.name for stages in self._by_classes.values() for a in stages}
        return tuple(name for name in ORDER[self.version] if name not in ran)

    def with_eps(self, eps, seed=None):
        """The same AutoAttack at budget `eps`, its attacks seeded from `seed`."""
        attacks = (
            None if self.version != "custom" else [a.with_eps(eps, seed) for a in self.attacks]
        )
        return AutoAttack(
            eps,
            norm=self.norm,
            version=self.version,
            seed=seed,
            attacks=attacks,
            apgd_steps=self.apgd_steps,
            fab_steps=self.fab_steps,
            square_queries=self.square_queries,
            batch_size=self.batch_size,
            name=self.name,
        )

    def get_config(self):
        config = {"eps": self.eps, "norm": self.norm, "version": self.version}
        if self.version == "custom":
            return {**config, **super().get_config()}
        if self.version == "rand":
            return {**config, "apgd_steps": self.apgd_steps, "eot_samples": RAND_EOT_SAMPLES}
        return {
            **config,
            "apgd_steps": self.apgd_steps,
            "fab_steps": self.fab_steps,
            "square_queries": self.square_queries,
        }

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "attacks")
        return f"AutoAttack({args})"


__all__ = ["AutoAttack"]
