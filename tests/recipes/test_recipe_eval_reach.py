"""Every recipe's evaluation can reach its whole budget.

A PGD column with steps x step size < eps (the MNIST PGD-20 at step 0.01
against eps 0.3 moved at most 0.2) can never find what lies beyond: it
reports a robust accuracy that no attack at that budget measured. This
checks every evaluation attack of every recipe, at every scale.
"""

import pathlib

import pytest

from tfrobust import evaluation
from tfrobust.attacks.ensemble import Ensemble
from tfrobust.recipes import load_recipe

RECIPES = sorted(pathlib.Path(__file__).resolve().parents[2].glob("recipes/**/*.yaml"))


def _settings(path):
    recipe = load_recipe(path)
    return [None, *recipe.scales]


def _leaves(attack):
    if isinstance(attack, Ensemble):
        for member in attack.attacks:
            yield from _leaves(member)
    else:
        yield attack


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_every_evaluation_attack_can_reach_the_budget(path):
    for scale in _settings(path):
        config = load_recipe(path, scale=scale).evaluation
        built = evaluation.build_attacks(
            list(config.attacks), config.eps, config.norm, 0, config.attack_kwargs
        )
        for attack in built:
            for leaf in _leaves(attack):
                steps = getattr(leaf, "steps", 1 if hasattr(leaf, "step_size") else None)
                if steps is None or not hasattr(leaf, "step_size"):
                    continue  # APGD, FAB, Square: step sizes adapt to the budget
                reach = steps * leaf.step_size
                assert reach >= leaf.eps * (1 - 1e-6), (
                    f"{path.name} (scale {scale}): {leaf!r} moves at most {reach:.4g} "
                    f"< eps {leaf.eps:.4g}"
                )
