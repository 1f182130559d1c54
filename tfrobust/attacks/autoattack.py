"""AutoAttack (Croce & Hein 2020): APGD-CE, APGD-T, FAB-T, Square, worst case.

The standard version runs four complementary attacks in that order, each only
on the points still classified correctly, re-querying the model on every
adversarial example (`Ensemble.run`, `tfrobust.attacks.protocol`). The
white-box attacks come first; the score-based Square attack last catches
gradient masking. The `rand` version, for models that are random at
inference, runs APGD-CE and APGD-DLR with the gradient averaged over 20 draws
(EOT), one restart each, as the reference's `set_version("rand")`.
"""

import keras

from tfrobust.argument_validation import check_choice
from tfrobust.attacks.apgd import APGD
from tfrobust.attacks.apgd import APGDT
from tfrobust.attacks.ensemble import Ensemble
from tfrobust.attacks.fab import FABT
from tfrobust.attacks.square import Square

VERSIONS = ("standard", "rand", "custom")
RAND_EOT_SAMPLES = 20  # the reference's `apgd.eot_iter` in its "rand" version
STANDARD_ORDER = ("apgd-ce", "apgd-t", "fab-t", "square")
N_TARGETS = 9  # AutoAttack's target classes, fewer on data with fewer classes


def _seed(seed, offset):
    return None if seed is None else int(seed) + offset


class AutoAttack(Ensemble):
    """AutoAttack's standard ensemble, or a custom list of attacks.

    Args:
        eps: budget in the [0, 1] pixel scale (8/255 for CIFAR-10 L-inf).
        norm: `"linf"` or `"l2"`.
        version: `"standard"` (APGD-CE, APGD-T, FAB-T, Square with AutoAttack's
            settings), `"rand"` (APGD-CE and APGD-DLR with EOT over 20 draws,
            for randomised models) or `"custom"` (the attacks given in `attacks`).
        seed: base seed; attack `i` gets `seed + i`.
        attacks: the attacks of the `"custom"` version.
        apgd_steps, fab_steps, square_queries: budgets of the standard attacks
            (AutoAttack: 100, 100, 5000). Lower them only for quick checks;
            the config records them.
        batch_size: batch size of the re-queries of the model.
        name: the name in reports (default `"autoattack"`).

    The targeted attacks use `min(9, num_classes - 1)` target classes, as
    AutoAttack does: the standard stages, built for 9, are rebuilt once for
    data with fewer classes.

    Example:
        >>> aa = AutoAttack(eps=8 / 255, seed=0)  # doctest: +SKIP
        >>> x_adv, report = aa.run(model, x, y)  # doctest: +SKIP
        >>> [(s.name, s.robust_accuracy) for s in report.stages]  # doctest: +SKIP

    Reference:
        Croce & Hein, "Reliable evaluation of adversarial robustness with an
        ensemble of diverse parameter-free attacks", ICML 2020.
    """

    def __init__(self, eps, norm="linf", version="standard", seed=None, attacks=None,
                 apgd_steps=100, fab_steps=100, square_queries=5000, batch_size=256, name=None):
        check_choice("version", version, VERSIONS)
        if (version == "custom") != (attacks is not None):
            raise ValueError(
                "Pass `attacks` exactly when version='custom'. "
                f"Received: version={version!r}, attacks={attacks!r}"
            )
        self.version = version
        self.seed = seed
        self.apgd_steps = int(apgd_steps)
        self.fab_steps = int(fab_steps)
        self.square_queries = int(square_queries)
        if version == "rand":
            attacks = [APGD(eps, norm=norm, steps=self.apgd_steps, loss=loss, seed=_seed(seed, i),
                            eot_samples=RAND_EOT_SAMPLES, name=f"apgd-{loss}")
                       for i, loss in enumerate(("ce", "dlr"))]
        elif version == "standard":
            attacks = [APGD(eps, norm=norm, steps=self.apgd_steps, seed=_seed(seed, 0),
                            name="apgd-ce"),
                       *self._targeted(eps, norm, N_TARGETS),
                       Square(eps, norm=norm, n_queries=self.square_queries, p_init=0.8,
                              seed=_seed(seed, 3), name="square")]
        super().__init__(attacks, batch_size=batch_size, name=name)
        self._by_targets = {}  # the standard stages run, by number of target classes

    def _targeted(self, eps, norm, n_targets):
        """APGD-T (its targeted DLR loss needs 4 classes) and FAB-T, `n_targets` targets."""
        apgd_t = APGDT(eps, norm=norm, steps=self.apgd_steps, n_target_classes=n_targets,
                       seed=_seed(self.seed, 1), name="apgd-t")
        fab_t = FABT(eps, norm=norm, steps=self.fab_steps, n_target_classes=n_targets,
                     seed=_seed(self.seed, 2), name="fab-t")
        return [apgd_t, fab_t] if n_targets >= 3 else [fab_t]

    def stages(self, model, x, y):
        if self.version != "standard":
            return super().stages(model, x, y)
        num_classes = int(keras.ops.shape(model(x[:1], training=False))[-1])
        n_targets = min(N_TARGETS, num_classes - 1)
        if n_targets not in self._by_targets:
            first, *_, last = self.attacks
            self._by_targets[n_targets] = (
                self.attacks if n_targets == N_TARGETS
                else [first, *self._targeted(self.eps, self.norm, n_targets), last])
        return [(a.name, a) for a in self._by_targets[n_targets]]

    def skipped(self):
        if self.version != "standard":
            return ()
        ran = {a.name for stages in self._by_targets.values() for a in stages}
        return tuple(name for name in STANDARD_ORDER if name not in ran)

    def with_eps(self, eps, seed=None):
        """The same AutoAttack at budget `eps`, its attacks seeded from `seed`."""
        attacks = None if self.version != "custom" else [a.with_eps(eps, seed)
                                                         for a in self.attacks]
        return AutoAttack(eps, norm=self.norm, version=self.version, seed=seed, attacks=attacks,
                          apgd_steps=self.apgd_steps, fab_steps=self.fab_steps,
                          square_queries=self.square_queries, batch_size=self.batch_size,
                          name=self.name)

    def get_config(self):
        config = {"eps": self.eps, "norm": self.norm, "version": self.version}
        if self.version == "custom":
            return {**config, **super().get_config()}
        if self.version == "rand":
            return {**config, "apgd_steps": self.apgd_steps, "eot_samples": RAND_EOT_SAMPLES}
        return {**config, "apgd_steps": self.apgd_steps, "fab_steps": self.fab_steps,
                "square_queries": self.square_queries}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "attacks")
        return f"AutoAttack({args})"


__all__ = ["AutoAttack"]
