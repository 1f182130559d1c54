"""Attacks by name: the papers' configurations (PGD-100, C&W, Ensemble) and clear errors."""

import pytest

from tfrobust.attacks import PGD
from tfrobust.attacks.ensemble import Ensemble
from tfrobust.evaluation import build_attacks
from tfrobust.evaluation import list_attacks
from tfrobust.evaluation import make_attack

EPS = 8 / 255
# The FSR reference evaluation: PGD on CE with step 0.1*eps and no random start, C&W = PGD-30
# on the margin loss, and the ensemble of all four.
PAPER = {
    "pgd": {"steps": 20, "step_fraction": 0.1, "random_start": False},
    "pgd100": {"attack": "pgd", "steps": 100, "step_fraction": 0.1, "random_start": False},
    "cw": {"step_fraction": 0.1, "random_start": False},
    "ensemble": {"attack": "ensemble", "of": ["fgsm", "pgd", "pgd100", "cw"]},
}


def test_named_configurations_build_the_papers_attacks():
    fgsm, pgd, pgd100, cw, ensemble = build_attacks(
        ["fgsm", "pgd", "pgd100", "cw", "ensemble"], EPS, "linf", 0, PAPER
    )
    assert (pgd.name, pgd100.name, cw.name, ensemble.name) == ("pgd", "pgd100", "cw", "ensemble")
    assert isinstance(pgd100, PGD) and pgd100.steps == 100 and not pgd100.random_start
    assert pgd100.step_size == pytest.approx(0.1 * EPS)
    assert (cw.loss, cw.steps, cw.step_size) == ("cw", 30, pytest.approx(0.1 * EPS))
    assert isinstance(ensemble, Ensemble) and ensemble.names == ["fgsm", "pgd", "pgd100", "cw"]
    assert [a.steps for a in ensemble.attacks[1:]] == [20, 100, 30]


@pytest.mark.parametrize("name", list_attacks())
def test_every_registered_name_builds_under_its_name(name):
    options = {"of": ["fgsm", "pgd"]} if name == "ensemble" else {}
    attack = make_attack(name, EPS, seed=0, **options)
    assert attack.name == name and attack.eps == pytest.approx(EPS)


def test_default_pgd_step_is_madrys():
    pgd = make_attack("pgd", EPS)
    assert (pgd.steps, pgd.step_size, pgd.random_start) == (
        20,
        pytest.approx(2.5 * EPS / 20),
        "uniform",
    )


def test_a_named_configuration_survives_a_new_budget():
    other = make_attack("pgd100", 4 / 255, seed=1, configs=PAPER)
    assert (other.name, other.steps, other.eps) == ("pgd100", 100, pytest.approx(4 / 255))
    assert other.step_size == pytest.approx(0.1 * 4 / 255)  # the fraction of eps is kept
    custom = PGD(EPS, step_size=0.01, steps=7, name="mine")  # an object: absolute step kept
    again = custom.with_eps(2 / 255)
    assert (again.name, again.eps, again.step_size, again.steps) == ("mine", 2 / 255, 0.01, 7)
    ensemble = make_attack("ensemble", EPS, configs=PAPER).with_eps(4 / 255)
    assert ensemble.names == ["fgsm", "pgd", "pgd100", "cw"] and ensemble.eps == 4 / 255
    assert ensemble.name == "ensemble"


@pytest.mark.parametrize(
    "name, configs, message",
    [
        ("pgd200", {}, "Unknown attack 'pgd200'"),
        ("x", {"x": {"attack": "pgdd"}}, "Unknown attack 'pgdd'"),
        ("pgd", {"pgd": {"stepz": 3}}, "bad arguments for 'pgd'"),
        ("ens", {"ens": {"attack": "ensemble"}}, "names of its attacks"),
    ],
)
def test_bad_configurations_are_named(name, configs, message):
    with pytest.raises(ValueError, match=message):
        make_attack(name, EPS, configs=configs)
