"""An evaluation killed inside an attack goes on from its last finished batch.

The kill is simulated where the real one would land: right after the partial
file of the first batch is written. The rerun must attack only the remaining
batches and end exactly as the uninterrupted run (same per-point result, same
random-generator state), which it can only do if the generators were restored.
"""

import importlib
import json

import keras
import numpy as np
import pytest

from tests.test_case import mlp_and_batch
from tfrobust.attacks import PGD
from tfrobust.attacks import AutoAttack
from tfrobust.evaluation import evaluate
from tfrobust.evaluation.results import ResultStore

# The module, which the package's `evaluate` function shadows as an attribute.
evaluate_module = importlib.import_module("tfrobust.evaluation.evaluate")


class Killed(Exception):
    pass


def _kill_after_first_batch(monkeypatch):
    save = ResultStore.save_partial

    def save_then_die(self, *args, **kwargs):
        save(self, *args, **kwargs)
        raise Killed

    monkeypatch.setattr(ResultStore, "save_partial", save_then_die)


def _count_attacked_batches(monkeypatch):
    calls = []
    attack_still_robust = evaluate_module.attack_still_robust

    def counted(model, attack, x, *args, **kwargs):
        calls.append(len(x))
        return attack_still_robust(model, attack, x, *args, **kwargs)

    monkeypatch.setattr(evaluate_module, "attack_still_robust", counted)
    return calls


def _stored(folder, prefix):
    (path,) = [p for p in folder.iterdir() if p.name.startswith(prefix)]
    return json.loads(path.read_text())


def _state(attack):
    return keras.ops.convert_to_numpy(attack.seed_generator.state.value)


@pytest.mark.jax
def test_a_killed_attack_resumes_at_its_next_batch_as_if_never_stopped(
    robust_mnist_model, mnist_test, tmp_path, monkeypatch
):
    x, y = mnist_test
    eps = robust_mnist_model.train_eps

    def run(folder, batch_size=20):
        attack = PGD(eps, step_size=eps / 4, steps=3, restarts=2, seed=3)
        summary = evaluate(
            robust_mnist_model,
            (x, y),
            attacks=[attack],
            eps=eps,
            n=60,
            batch_size=batch_size,
            resume_dir=folder,
            adaptive=False,
        )
        return summary, attack

    whole, whole_attack = run(tmp_path / "whole")

    with monkeypatch.context() as patch:
        _kill_after_first_batch(patch)
        with pytest.raises(Killed):
            run(tmp_path / "killed")
    partial = _stored(tmp_path / "killed", "pgd@")
    assert len(partial["robust"]) == 20 and partial["states"]

    with monkeypatch.context() as patch:
        calls = _count_attacked_batches(patch)
        resumed, resumed_attack = run(tmp_path / "killed")
    assert calls == [20, 20]  # batches 2 and 3 only
    assert (
        _stored(tmp_path / "killed", "pgd@")["robust"]
        == _stored(tmp_path / "whole", "pgd@")["robust"]
    )
    np.testing.assert_array_equal(_state(resumed_attack), _state(whole_attack))
    assert resumed.robust_accuracy == whole.robust_accuracy
    assert not list((tmp_path / "killed").glob("*.partial.json"))
    assert resumed.wall_time_s >= partial["seconds"]

    # A partial file of another batch size is not used: the attack starts over.
    with monkeypatch.context() as patch:
        _kill_after_first_batch(patch)
        with pytest.raises(Killed):
            run(tmp_path / "other")
    with monkeypatch.context() as patch:
        calls = _count_attacked_batches(patch)
        run(tmp_path / "other", batch_size=30)
    assert calls == [30, 30]


def test_autoattack_resumes_with_its_stage_counts(tmp_path, monkeypatch):
    """An ensemble's stages (their counts and their generators) carry over too."""
    model, x, y = mlp_and_batch((6, 6, 1), n=30)

    def run(folder):
        attack = AutoAttack(0.05, apgd_steps=4, fab_steps=4, square_queries=20, seed=1)
        summary = evaluate(
            model, (x, y), attacks=[attack], eps=0.05, batch_size=10, resume_dir=folder
        )
        return summary.attacks[0], attack

    whole, whole_attack = run(tmp_path / "whole")
    with monkeypatch.context() as patch:
        _kill_after_first_batch(patch)
        with pytest.raises(Killed):
            run(tmp_path / "killed")
    resumed, resumed_attack = run(tmp_path / "killed")

    def counts(result):
        return [(s["name"], s["n_attacked"], s["n_fooled"]) for s in result.stages]

    assert counts(resumed) == counts(whole)
    assert resumed.robust_accuracy == whole.robust_accuracy
    for a, b in zip(resumed_attack.attacks, whole_attack.attacks):
        np.testing.assert_array_equal(_state(a), _state(b))
