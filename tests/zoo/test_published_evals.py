"""Every published number can be re-derived: each zoo entry re-evaluated on its first 100 points.

An outsider's check of the zoo, kept out of the default run (`-m slow`: AutoAttack
on 100 CIFAR-10 points takes minutes): the entry's own evaluation protocol
(`recipe.yaml`'s attacks and settings) on the first 100 points of the order its
`eval.json` names must agree with the published accuracies within the sampling
error of 100 points (three standard errors, at least 3 points). The check that
reads an evaluation's own results, `iterative_vs_single_step`, is re-derived
from each eval.json in the default run.
"""

import dataclasses
import json
import math
import warnings

import numpy as np
import pytest

from tfrobust import data
from tfrobust import evaluation
from tfrobust import zoo
from tfrobust.evaluation import SanityWarning
from tfrobust.evaluation import build_attacks
from tfrobust.evaluation.sanity import iterative_vs_single_step

N = 100
ENTRIES = sorted(zoo.find_entries())


def tolerance(p):
    return max(3 * math.sqrt(p * (1 - p) / N), 0.03)


@pytest.mark.slow
@pytest.mark.parametrize("name", ENTRIES)
def test_published_accuracies_are_reproduced_on_the_first_100_points(name, shared_datasets):
    entry = zoo.find_entries()[name]
    published = json.loads((entry.path / "eval.json").read_text())
    protocol = entry.recipe["evaluation"]
    images, labels, source = data.load_uint8(entry.dataset, "test", shared_datasets)
    recorded = published.get("data_order")  # absent in entries evaluated before it was kept
    if recorded is None and source.order != "canonical":
        pytest.skip(f"{name}: its eval.json does not say which points it was measured on")
    assert source.order == (recorded or "canonical"), "the entry was measured in another order"
    summary = evaluation.evaluate(
        zoo.load_model(name),
        (images[:N].astype("float32") / 255.0, labels[:N]),
        attacks=list(protocol["attacks"]),
        eps=published["threat_model"]["eps"],
        norm=published["threat_model"]["norm"],
        seed=published["seed"],
        attack_kwargs=protocol.get("attack_kwargs"),
        batch_size=protocol.get("batch_size", 250),
    )
    ours = {
        "clean": summary.clean_accuracy,
        "worst case": summary.robust_accuracy,
        **{a.name: a.robust_accuracy for a in summary.attacks},
    }
    theirs = {
        "clean": published["clean_accuracy"],
        "worst case": published["robust_accuracy"],
        **{a["name"]: a["robust_accuracy"] for a in published["attacks"]},
    }
    moved = {
        k: (round(ours[k], 3), theirs[k])
        for k in theirs
        if k in ours and abs(ours[k] - theirs[k]) > tolerance(theirs[k])
    }
    assert not moved, f"{name}: (first {N} points, published) beyond the sampling error: {moved}"
    assert np.isclose(summary.n, N)


@pytest.mark.parametrize("name", ENTRIES)
def test_each_entry_records_the_single_step_check_of_its_own_results(name):
    entry = zoo.find_entries()[name]
    published = json.loads((entry.path / "eval.json").read_text())
    protocol = entry.recipe["evaluation"]
    eps, norm = published["threat_model"]["eps"], published["threat_model"]["norm"]
    built = build_attacks(
        list(protocol["attacks"]), eps, norm, published["seed"], protocol.get("attack_kwargs")
    )
    accuracy = {a["name"]: a["robust_accuracy"] for a in published["attacks"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanityWarning)
        check = iterative_vs_single_step(
            [(a, accuracy[a.name]) for a in built], eps, published["n"]
        )
    recorded = [c for c in published["sanity"] if c["name"] == "iterative_vs_single_step"]
    assert recorded == ([dataclasses.asdict(check)] if check else [])
