"""`tfrobust train` end to end on the bundled sample, on both backends."""

import json
import pathlib

import pytest

from tfrobust.cli import main as cli
from tfrobust.data import SAMPLE_DIR

RECIPE = pathlib.Path(__file__).resolve().parents[2] / "recipes" / "pgd_at_mnist_lenet.yaml"


def arguments(out):
    """A one-epoch run of the MNIST recipe on the sample, evaluated with FGSM on 10 points."""
    return [
        "train",
        str(RECIPE),
        "--scale",
        "cpu",
        "--out",
        str(out),
        "--set",
        "training.epochs=1",
        "--set",
        "dataset.n_train=128",
        "--set",
        "dataset.validation.n=32",
        "--set",
        f"dataset.data_dir={SAMPLE_DIR}",
        "--set",
        "evaluation.n=10",
        "--set",
        "evaluation.clean_n=null",
        "--set",
        "evaluation.attacks=[fgsm]",
        "--set",
        "evaluation.curve_eps=[]",
    ]


@pytest.mark.jax
def test_train_runs_a_recipe_and_writes_its_zoo_entry(tmp_path, backend):
    out = tmp_path / "run"
    assert cli.main(arguments(out)) == 0
    summary = json.loads((out / "eval.json").read_text())
    assert summary["n"] == 10 and [a["name"] for a in summary["attacks"]] == ["fgsm"]
    assert (out / "model.keras").is_file() and (out / "MODEL_CARD.md").is_file()
    assert summary["versions"]["backend"] == backend


def test_train_only_saves_the_model_and_the_same_command_evaluates_it_later(tmp_path):
    out = tmp_path / "run"
    assert cli.main([*arguments(out), "--train-only"]) == 0
    assert (out / "model.keras").is_file() and not (out / "eval.json").exists()
    trained = (out / "model.keras").read_bytes()

    assert cli.main(arguments(out)) == 0
    assert (out / "eval.json").is_file()
    assert (out / "model.keras").read_bytes() == trained  # evaluated, not trained again
