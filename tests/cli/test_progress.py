"""Progress of long commands: `evaluate`'s bar per batch, and where `train` writes its results."""

import io
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import rich
import rich.progress
from rich.console import Console

from tfrobust.cli import main as cli
from tfrobust.cli import train as train_cli
from tfrobust.data import SAMPLE_DIR
from tfrobust.evaluation import evaluate
from tfrobust.recipes import run as runner


@pytest.fixture
def console(monkeypatch):
    """rich's global console, writing into a string (what a terminal would show at the end)."""
    captured = Console(file=io.StringIO(), width=200, force_terminal=False)
    monkeypatch.setattr(rich, "_console", captured)
    return captured


@pytest.mark.jax
def test_evaluate_progress_counts_every_point_of_every_attack_batch_by_batch(console, monkeypatch):
    steps = []
    update = rich.progress.Progress.update
    monkeypatch.setattr(
        rich.progress.Progress,
        "update",
        lambda self, task, **kw: (
            steps.append((kw.get("description"), kw.get("advance"))),
            update(self, task, **kw),
        )[1],
    )
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    x = np.random.default_rng(0).uniform(size=(10, 4, 4, 1)).astype("float32")
    y = np.argmax(model.predict(x, verbose=0), axis=1)  # every point correct: all attacked
    evaluate(
        model,
        (x, y),
        attacks=["fgsm", "pgd"],
        eps=0.1,
        n=10,
        batch_size=4,
        curve_eps=[0.05],
        progress=True,
        adaptive=False,
    )
    assert steps[:3] == [("fgsm (eps 0.1)", 4), ("fgsm (eps 0.1)", 4), ("fgsm (eps 0.1)", 2)]
    shown = console.file.getvalue()
    # 2 attacks at eps 0.1, then again at 0.05 for the curve; the last one named.
    assert "40/40 points attacked" in shown, shown
    assert "pgd (eps 0.05)" in shown and "left" in shown, shown


def test_eval_says_where_the_report_goes_and_shows_the_attacks(console, tmp_path, capsys):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    model.save(tmp_path / "tiny.keras")
    out = tmp_path / "report"
    assert (
        cli.main(
            [
                "eval",
                str(tmp_path / "tiny.keras"),
                "--dataset",
                "mnist",
                "--data-dir",
                str(SAMPLE_DIR),
                "--attacks",
                "fgsm",
                "--n",
                "12",
                "--batch-size",
                "5",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    said = capsys.readouterr().out
    assert f"The report will be written to {out}/" in said, said
    assert "fgsm (eps 0.03137)" in console.file.getvalue()
    assert "12/12 points attacked" in console.file.getvalue()


def test_train_says_where_its_logs_and_results_go_before_it_starts(
    monkeypatch, capsys, request, tmp_path
):
    printed_before = []

    def run_recipe(recipe, out, strategy, command):
        printed_before.append(capsys.readouterr().out)
        return SimpleNamespace(clean_accuracy=0.9, robust_accuracy=0.5, n=10, dataset="mnist")

    monkeypatch.setattr(runner, "run_recipe", run_recipe)
    out = tmp_path / "run"
    recipe = request.config.rootpath / "recipes" / "pgd_at_mnist_lenet.yaml"
    assert cli.main(["train", str(recipe), "--scale", "cpu", "--out", str(out)]) == 0
    assert printed_before == [train_cli.where_results_go(str(out)) + "\n"]
    for path in [f"{out}/", f"{out}/logs/", f"{out}/eval_parts/"]:
        assert path in printed_before[0]
    assert f"zoo entry in {out}" in capsys.readouterr().out
