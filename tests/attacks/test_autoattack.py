"""AutoAttack: stage order, only still-correct points attacked, model re-queried."""

import keras
import numpy as np
import pytest

from tfrobust.attacks.apgd import APGDT
from tfrobust.attacks.autoattack import AutoAttack
from tfrobust.attacks.base import Attack
from tfrobust.attacks.fab import FABT
from tfrobust.attacks.protocol import PerturbationBudgetError
from tfrobust.attacks.protocol import predict_labels


def linear_model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )


def batch(model, n=24, seed=0):
    x = np.random.default_rng(seed).uniform(0.2, 0.8, (n, 6, 6, 1)).astype("float32")
    return x, predict_labels(model, x)


class Spy(Attack):
    """Records the points it is given; returns `fool(x)` (not compiled)."""

    def __init__(self, eps, fool):
        super().__init__(eps)
        self.fool, self.seen = fool, []

    def __call__(self, model, x, y):
        self.seen.append(np.asarray(x).copy())
        return self.fool(np.asarray(x))


def test_attacks_only_points_still_classified_correctly():
    model = linear_model()
    x, y = batch(model)
    y[:5] = (y[:5] + 1) % 10  # wrong from the start: never attacked
    # The first attack "fools" nothing (returns x), the second pushes points
    # far in the box but within eps; only survivors reach the third.
    first = Spy(0.2, lambda z: z)
    second = Spy(0.2, lambda z: np.clip(z + 0.2 * np.sign(z - 0.5 + 1e-3), 0, 1))
    third = Spy(0.2, lambda z: z)
    aa = AutoAttack(0.2, version="custom", attacks=[first, second, third])
    x_adv, report = aa.run(model, x, y)

    assert len(first.seen[0]) == 19
    np.testing.assert_array_equal(first.seen[0], x[5:])
    assert len(second.seen[0]) == 19  # the first attack fooled nobody
    fooled_by_second = (predict_labels(model, x_adv) != y)[5:].sum()
    assert report.stages[1].n_fooled == fooled_by_second
    assert len(third.seen[0]) == 19 - fooled_by_second
    assert report.clean_accuracy == pytest.approx(19 / 24)
    assert report.robust_accuracy == pytest.approx((19 - fooled_by_second) / 24)
    # x_adv keeps x exactly where no attack succeeded.
    still = report.robust
    np.testing.assert_array_equal(x_adv[still], x[still])


def test_requeries_the_model_instead_of_trusting_the_attack():
    model = linear_model()
    x, y = batch(model)
    liar = Spy(0.1, lambda z: z)  # returns the clean images: fools no one
    _, report = AutoAttack(0.1, version="custom", attacks=[liar]).run(model, x, y)
    assert report.stages[0].n_fooled == 0 and report.robust_accuracy == 1.0


def test_asserts_the_perturbation_budget():
    model = linear_model()
    x, y = batch(model)
    cheat = Spy(0.05, lambda z: np.clip(z + 0.2, 0, 1))
    with pytest.raises(PerturbationBudgetError, match="budget"):
        AutoAttack(0.05, version="custom", attacks=[cheat]).run(model, x, y)
    x[:, 0, 0, 0] = 1.0  # a bright pixel that "+ 0.01" pushes out of the box
    y = predict_labels(model, x)
    with pytest.raises(PerturbationBudgetError, match=r"\[0, 1\]"):
        AutoAttack(0.05, version="custom", attacks=[Spy(0.05, lambda z: z + 0.01)]).run(model, x, y)


@pytest.mark.jax
@pytest.mark.parametrize("norm, eps", [("linf", 0.1), ("l2", 0.5)])
def test_standard_version_runs_the_four_attacks_in_order(norm, eps):
    model = linear_model()
    x, y = batch(model, n=16)
    aa = AutoAttack(eps, norm=norm, seed=0, apgd_steps=5, fab_steps=5, square_queries=20)
    x_adv, report = aa.run(model, x, y)
    assert [s.name for s in report.stages] == ["apgd-ce", "apgd-t", "fab-t", "square"]
    assert report.skipped == ()
    delta = (x_adv - x).reshape(len(x), -1)
    size = np.abs(delta).max(axis=1) if norm == "linf" else np.linalg.norm(delta, axis=1)
    assert size.max() <= eps * (1 + 1e-5) + 1e-6 and 0 <= x_adv.min() and x_adv.max() <= 1
    accs = [s.robust_accuracy for s in report.stages]
    assert accs == sorted(accs, reverse=True)
    assert report.robust_accuracy == pytest.approx((predict_labels(model, x_adv) == y).mean())
    attacked = [s.n_attacked for s in report.stages]
    assert all(a - s.n_fooled == b for a, s, b in zip(attacked, report.stages, attacked[1:]))


# The reference's settings, pyautoattack 0.2.0 `autoattack.py`: the attack objects of
# `AutoAttack.__init__` (lines 46-58: APGD 100 iterations, FAB 100, Square p_init 0.8) as
# `_set_version` (lines 297-332) leaves them, and `run_standard_evaluation` (line 207:
# fab-t always 1 restart). Per version: (name, class, settings) in the order they run.
REFERENCE_VERSIONS = {
    ("standard", "linf"): [  # lines 302-315
        ("apgd-ce", "APGD", dict(loss="ce", restarts=1, steps=100, large_eps=False)),
        ("apgd-t", "APGDT", dict(n_target_classes=9, restarts=1, steps=100, large_eps=False)),
        ("fab-t", "FABT", dict(n_target_classes=9, steps=100)),
        ("square", "Square", dict(n_queries=5000, p_init=0.8)),
    ],
    ("standard", "l1"): [  # lines 306-310: use_largereps, 5 restarts, 5 target classes
        ("apgd-ce", "APGD", dict(loss="ce", restarts=5, steps=100, large_eps=True)),
        ("apgd-t", "APGDT", dict(n_target_classes=5, restarts=1, steps=100, large_eps=True)),
        ("fab-t", "FABT", dict(n_target_classes=9, steps=100)),
        ("square", "Square", dict(n_queries=5000, p_init=0.8)),
    ],
    ("plus", "linf"): [  # lines 318-324
        ("apgd-ce", "APGD", dict(loss="ce", restarts=5, steps=100, large_eps=False)),
        ("apgd-dlr", "APGD", dict(loss="dlr", restarts=5, steps=100, large_eps=False)),
        ("fab", "FAB", dict(restarts=5, steps=100)),
        ("square", "Square", dict(n_queries=5000, p_init=0.8)),
        ("apgd-t", "APGDT", dict(n_target_classes=9, restarts=1, steps=100, large_eps=False)),
        ("fab-t", "FABT", dict(n_target_classes=9, steps=100)),
    ],
    ("rand", "linf"): [  # lines 330-332
        ("apgd-ce", "APGD", dict(loss="ce", restarts=1, steps=100, eot_samples=20)),
        ("apgd-dlr", "APGD", dict(loss="dlr", restarts=1, steps=100, eot_samples=20)),
    ],
}


@pytest.mark.parametrize("version, norm", list(REFERENCE_VERSIONS))
def test_versions_have_the_reference_settings(version, norm):
    eps = {"linf": 8 / 255, "l1": 12.0}[norm]
    aa = AutoAttack(eps, norm=norm, version=version, seed=0)
    expected = REFERENCE_VERSIONS[version, norm]
    assert aa.names == [name for name, _, _ in expected]
    for attack, (name, cls, settings) in zip(aa.attacks, expected):
        config = attack.get_config()
        assert (type(attack).__name__, attack.name) == (cls, name)
        assert {key: config[key] for key in settings} == settings, name
        assert (config["eps"], config["norm"]) == (eps, norm)


def test_plus_version_keeps_the_step_overrides():
    aa = AutoAttack(0.5, norm="l2", version="plus", apgd_steps=7, fab_steps=6, square_queries=50)
    assert [a.steps for a in aa.attacks if a.name != "square"] == [7, 7, 6, 7, 6]
    assert aa.attacks[aa.names.index("square")].n_queries == 50
    assert aa.with_eps(0.25).get_config() == {**aa.get_config(), "eps": 0.25}


def _mlp():
    """A seeded 10-class ReLU MLP on 6x6 images."""
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(10),
        ]
    )


def test_plus_is_never_weaker_than_standard():
    model = _mlp()
    x, y = batch(model, n=32)
    budgets = dict(seed=0, apgd_steps=10, fab_steps=10, square_queries=50)
    for norm, eps in (("linf", 0.04), ("l2", 0.25)):
        _, standard = AutoAttack(eps, norm=norm, **budgets).run(model, x, y)
        _, plus = AutoAttack(eps, norm=norm, version="plus", **budgets).run(model, x, y)
        assert plus.robust_accuracy <= standard.robust_accuracy
        assert 0 < standard.robust_accuracy < standard.clean_accuracy  # a budget that tells


@pytest.mark.jax
def test_targeted_attacks_skip_fooled_points_without_changing_the_result(monkeypatch):
    # APGD-T and FAB-T give each target only the points no earlier target fooled
    # (`attacks.per_target`); attacking every point towards every target, as
    # `Attack.__call__` compiles their `perturb`, ends the same, stage by stage.
    model = _mlp()
    x, y = batch(model, n=32)
    eps = 0.05

    def run():
        targeted = [FABT(eps, steps=3, name="fab-t"), APGDT(eps, steps=5, seed=0, name="apgd-t")]
        return AutoAttack(eps, version="custom", attacks=targeted).run(model, x, y)

    x_adv, report = run()
    for cls in (APGDT, FABT):
        monkeypatch.setattr(cls, "__call__", Attack.__call__)
    x_old, old = run()
    assert [s.n_fooled for s in report.stages] == [s.n_fooled for s in old.stages]
    assert all(s.n_fooled > 0 for s in report.stages)
    assert 0 < report.robust_accuracy < report.clean_accuracy
    np.testing.assert_allclose(x_adv, x_old, atol=1e-6)


def test_fewer_classes_skip_what_cannot_run():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    x, y = batch(model, n=8)
    aa = AutoAttack(0.05, version="plus", seed=0, apgd_steps=3, fab_steps=3, square_queries=5)
    assert aa.skipped() == ()
    _, report = aa.run(model, x, y)
    assert [s.name for s in report.stages] == ["apgd-ce", "apgd-dlr", "fab", "square", "fab-t"]
    assert report.skipped == ("apgd-t",)  # its targeted DLR loss needs 4 classes


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="version"):
        AutoAttack(8 / 255, version="fast")
    with pytest.raises(ValueError, match="custom"):
        AutoAttack(8 / 255, attacks=[Spy(8 / 255, lambda z: z)])
    with pytest.raises(ValueError, match="threat model"):
        AutoAttack(
            8 / 255,
            version="custom",
            attacks=[Spy(8 / 255, lambda z: z), Spy(4 / 255, lambda z: z)],
        )
