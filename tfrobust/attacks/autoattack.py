"""AutoAttack (Croce & Hein 2020): APGD-CE, APGD-T, FAB-T, Square, worst case.

The standard version runs four complementary attacks in that order, each only
on the points still classified correctly, re-querying the model on every
adversarial example (see `Ensemble`). The white-box attacks come first; the
score-based Square attack last catches gradient masking. The `rand` version,
for models that are random at inference, runs APGD-CE and APGD-DLR with the
gradient averaged over 20 draws (EOT), one restart each, as the reference's
`set_version("rand")`.
"""

import keras

from tfrobust.attacks.apgd import APGD
from tfrobust.attacks.apgd import APGDT
from tfrobust.attacks.ensemble import Ensemble
from tfrobust.attacks.fab import FABT
from tfrobust.attacks.square import Square

VERSIONS = ("standard", "rand", "custom")
RAND_EOT_SAMPLES = 20  # the reference's `apgd.eot_iter` in its "rand" version
STANDARD_ORDER = ("apgd-ce", "apgd-t", "fab-t", "square")


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

    The targeted attacks use `min(9, num_classes - 1)` target classes, as
    AutoAttack does; the stages are built once per number of classes.

    Example:
        >>> aa = AutoAttack(eps=8 / 255, seed=0)  # doctest: +SKIP
        >>> x_adv, report = aa.run(model, x, y)  # doctest: +SKIP
        >>> [(s.name, s.robust_accuracy) for s in report.stages]  # doctest: +SKIP

    Reference:
        Croce & Hein, "Reliable evaluation of adversarial robustness with an
        ensemble of diverse parameter-free attacks", ICML 2020.
    """

    def __init__(self, eps, norm="linf", version="standard", seed=None, attacks=None,
                 apgd_steps=100, fab_steps=100, square_queries=5000, batch_size=256):
        if version not in VERSIONS:
            raise ValueError(f"`version` must be one of {VERSIONS}. Received: version={version!r}")
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
        self._by_classes = {}
        if version == "custom":
            super().__init__(attacks, batch_size=batch_size)
        elif version == "rand":
            super().__init__(
                [APGD(eps, norm=norm, steps=self.apgd_steps, loss=loss, seed=_seed(seed, i),
                      eot_samples=RAND_EOT_SAMPLES) for i, loss in enumerate(("ce", "dlr"))],
                names=["apgd-ce", "apgd-dlr"], batch_size=batch_size)
        else:
            # A placeholder with the threat model; the real stages depend on
            # the number of classes and are built in `stages`.
            super().__init__([APGD(eps, norm=norm, steps=self.apgd_steps, seed=_seed(seed, 0))],
                             names=["apgd-ce"], batch_size=batch_size)

    def _standard(self, num_classes):
        if num_classes not in self._by_classes:
            eps, norm, seed = self.eps, self.norm, self.seed
            n_targets = min(9, num_classes - 1)
            stages = [("apgd-ce", self.attacks[0])]
            if n_targets >= 3:  # the targeted DLR loss needs 4 classes
                stages.append(("apgd-t", APGDT(eps, norm=norm, steps=self.apgd_steps,
                                               n_target_classes=n_targets,
                                               seed=_seed(seed, 1))))
            stages.append(("fab-t", FABT(eps, norm=norm, steps=self.fab_steps,
                                         n_target_classes=n_targets, seed=_seed(seed, 2))))
            stages.append(("square", Square(eps, norm=norm, n_queries=self.square_queries,
                                            p_init=0.8, seed=_seed(seed, 3))))
            self._by_classes[num_classes] = stages
        return self._by_classes[num_classes]

    def stages(self, model, x, y):
        if self.version != "standard":
            return super().stages(model, x, y)
        num_classes = int(keras.ops.shape(model(x[:1], training=False))[-1])
        return self._standard(num_classes)

    def skipped(self):
        if self.version != "standard":
            return ()
        ran = {name for stages in self._by_classes.values() for name, _ in stages}
        return tuple(name for name in STANDARD_ORDER if name not in ran)

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
