"""`evaluate` on a small FGSM-RS-trained MNIST CNN: numbers that make sense."""

import numpy as np
import pytest

from tfrobust.attacks.protocol import predict_labels
from tfrobust.evaluation import evaluate


def test_robust_accuracies_are_consistent(robust_mnist_model, mnist_test):
    x, y = mnist_test
    summary = evaluate(
        robust_mnist_model,
        (x, y),
        attacks=["apgd-ce", "square"],
        eps=robust_mnist_model.train_eps,
        n=100,
        batch_size=100,
        seed=0,
        attack_kwargs={"apgd-ce": {"steps": 10}, "square": {"n_queries": 100}},
    )
    clean = (predict_labels(robust_mnist_model, x[:100]) == y[:100]).mean()
    assert summary.clean_accuracy == pytest.approx(clean)
    assert summary.clean_accuracy > 0.85
    accs = {a.name: a.robust_accuracy for a in summary.attacks}
    assert summary.robust_accuracy <= min(accs.values())
    assert 0.3 < summary.robust_accuracy < summary.clean_accuracy  # robust, but not fully
    # The white-box attack is at least as strong as 100 queries of Square.
    assert accs["apgd-ce"] <= accs["square"] + 0.02


def test_dataset_input_is_accepted(robust_mnist_model, mnist_test):
    import tensorflow as tf

    x, y = mnist_test
    ds = tf.data.Dataset.from_tensor_slices((x[:40], y[:40])).batch(16)
    summary = evaluate(
        robust_mnist_model,
        ds,
        attacks="fgsm",
        eps=robust_mnist_model.train_eps,
        n=40,
        batch_size=40,
    )
    assert summary.n == 40
    assert np.isfinite(summary.robust_accuracy)


@pytest.mark.jax
def test_all_given_points_are_evaluated_by_default(robust_mnist_model, mnist_test):
    x, y = mnist_test
    summary = evaluate(
        robust_mnist_model, (x[:30], y[:30]), attacks="fgsm", eps=robust_mnist_model.train_eps
    )
    assert summary.n == 30


PAPER_ENSEMBLE = {
    "pgd": {"steps": 5, "step_fraction": 0.25, "random_start": False},
    "cw": {"steps": 5, "step_fraction": 0.25, "random_start": False},
    "ensemble": {"attack": "ensemble", "of": ["fgsm", "pgd", "cw"]},
}


@pytest.mark.parametrize(
    "order", [["fgsm", "pgd", "cw", "ensemble"], ["ensemble", "fgsm", "pgd", "cw"]]
)
def test_an_ensemble_is_the_worst_case_of_its_members(robust_mnist_model, mnist_test, order):
    """Listed after its members, it reuses their results; listed first, it runs them."""
    x, y = mnist_test
    summary = evaluate(
        robust_mnist_model,
        (x, y),
        attacks=order,
        eps=robust_mnist_model.train_eps,
        n=120,
        batch_size=60,
        attack_kwargs=PAPER_ENSEMBLE,
    )
    accs = {a.name: a for a in summary.attacks}
    ensemble = accs["ensemble"]
    assert ensemble.robust_accuracy == pytest.approx(summary.robust_accuracy)
    assert ensemble.robust_accuracy <= min(accs[n].robust_accuracy for n in ("fgsm", "pgd", "cw"))
    assert [s["name"] for s in ensemble.stages] == ["fgsm", "pgd", "cw"]
    assert ensemble.stages[-1]["robust_accuracy"] == pytest.approx(ensemble.robust_accuracy)
    fooled = sum(s["n_fooled"] for s in ensemble.stages)
    assert fooled == round(summary.n * (summary.clean_accuracy - ensemble.robust_accuracy))
    reused = order[-1] == "ensemble"
    assert (ensemble.seconds < 0.05 * accs["pgd"].seconds) == reused


def test_a_rerun_with_the_same_resume_dir_reads_each_attacks_result(
    robust_mnist_model, mnist_test, tmp_path
):
    """One file per attack: a killed evaluation resumes attack by attack."""
    x, y = mnist_test
    kwargs = dict(
        attacks=["fgsm", "pgd"],
        eps=robust_mnist_model.train_eps,
        n=60,
        batch_size=60,
        attack_kwargs=PAPER_ENSEMBLE,
        resume_dir=tmp_path,
    )
    first = evaluate(robust_mnist_model, (x, y), **kwargs)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and files[0].startswith("fgsm@")
    # Mark every point fooled in the stored PGD result: a rerun must report it, not rerun PGD.
    import json

    path = next(p for p in tmp_path.iterdir() if p.name.startswith("pgd@"))
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "robust": "0" * 60}))
    second = evaluate(robust_mnist_model, (x, y), **kwargs)
    accs = {a.name: a.robust_accuracy for a in second.attacks}
    assert accs["fgsm"] == pytest.approx(first.attacks[0].robust_accuracy)
    assert accs["pgd"] == 0.0 and second.robust_accuracy == 0.0
    assert second.wall_time_s >= sum(a.seconds for a in first.attacks)
    # Other points or settings are not served from the folder.
    third = evaluate(robust_mnist_model, (x, y), **{**kwargs, "seed": 5})
    assert {a.name: a.robust_accuracy for a in third.attacks}["pgd"] > 0


def test_curve_attacks_run_at_the_other_budgets_and_each_point_says_which(
    robust_mnist_model, mnist_test
):
    x, y = mnist_test
    eps = robust_mnist_model.train_eps
    kwargs = dict(eps=eps, n=60, batch_size=60, curve_eps=[eps / 3], attack_kwargs=PAPER_ENSEMBLE)
    summary = evaluate(
        robust_mnist_model, (x, y), attacks=["fgsm", "pgd"], curve_attacks=["fgsm"], **kwargs
    )
    clean, small, at_eps = summary.curve
    assert (clean.eps, clean.attacks) == (0.0, {})
    assert set(at_eps.attacks) == {"fgsm", "pgd"} and at_eps.eps == eps
    assert list(small.attacks) == ["fgsm"] and small.robust_accuracy == small.attacks["fgsm"]
    alone = evaluate(robust_mnist_model, (x, y), attacks=["fgsm"], **kwargs)
    assert alone.curve[1].robust_accuracy == small.robust_accuracy  # the same fgsm, seeded alike
    with pytest.raises(ValueError, match=r"`curve_attacks` must name attacks .*\['cw'\]"):
        evaluate(robust_mnist_model, (x, y), attacks=["fgsm"], curve_attacks=["cw"], **kwargs)
