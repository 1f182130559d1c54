"""`tfrobust eval MODEL ...`: parse, evaluate the packaged MNIST sample, write the report."""

import argparse
import json

import keras
import pytest

from tfrobust.cli import eval as eval_cli
from tfrobust.data import SAMPLE_DIR


def parse(argv):
    parser = argparse.ArgumentParser(prog="tfrobust")
    eval_cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["eval", *argv])


@pytest.fixture
def model_path(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    path = tmp_path / "tiny.keras"
    model.save(path)
    return path


def test_eval_writes_a_valid_report(model_path, tmp_path):
    out = tmp_path / "out"
    args = parse(
        [
            str(model_path),
            "--dataset",
            "mnist",
            "--data-dir",
            str(SAMPLE_DIR),
            "--attacks",
            "fgsm,square",
            "--eps",
            "8/255",
            "--curve-eps",
            "4/255",
            "--n",
            "20",
            "--batch-size",
            "32",
            "--square-queries",
            "10",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert args.func is eval_cli.run and args.eps == pytest.approx(8 / 255)
    assert eval_cli.run(args) == 0
    data = json.loads((out / "eval.json").read_text())
    assert data["threat_model"] == {"norm": "linf", "eps": pytest.approx(8 / 255)}
    assert data["n"] == 20 and data["model"] == "tiny"
    assert [a["name"] for a in data["attacks"]] == ["fgsm", "square"]
    assert len(data["curve"]) == 3
    assert (out / "eval.md").is_file() and (out / "robust_accuracy.png").is_file()


def test_eval_rejects_bad_input(tmp_path):
    with pytest.raises(SystemExit):
        parse(["m.keras", "--eps", "eight"])
    with pytest.raises(ValueError, match="pixel scale"):  # L-inf: 8/255, not 8
        eval_cli.run(parse(["m.keras", "--eps", "8"]))
    with pytest.raises(ValueError, match="pixel scale"):
        eval_cli.run(parse(["m.keras", "--eps", "8/255", "--curve-eps", "4"]))
    with pytest.raises(FileNotFoundError, match=".keras"):
        eval_cli.run(parse([str(tmp_path / "missing.keras")]))


@pytest.fixture
def fsr_model_path(tmp_path):
    from tfrobust.layers import FSR

    keras.utils.set_random_seed(0)
    inputs = keras.Input((28, 28, 1))
    features = keras.layers.Conv2D(4, 3, strides=4)(inputs)
    features = FSR(4, num_classes=10, hidden_channels=4, name="fsr")(features)
    outputs = keras.layers.Dense(10)(keras.layers.GlobalAveragePooling2D()(features))
    path = tmp_path / "fsr.keras"
    keras.Model(inputs, outputs).save(path)
    return path


@pytest.mark.parametrize(
    "flag, names", [("--adaptive", ["fgsm", "joint-pgd"]), ("--no-adaptive", ["fgsm"])]
)
def test_eval_runs_and_reports_the_defenses_adaptive_attack(
    fsr_model_path, tmp_path, capsys, flag, names
):
    out = tmp_path / "out"
    args = parse(
        [
            str(fsr_model_path),
            "--dataset",
            "mnist",
            "--data-dir",
            str(SAMPLE_DIR),
            "--attacks",
            "fgsm",
            "--eps",
            "0.1",
            "--n",
            "20",
            "--out",
            str(out),
            "--no-progress",
            flag,
        ]
    )
    assert eval_cli.run(args) == 0
    data = json.loads((out / "eval.json").read_text())
    assert [a["name"] for a in data["attacks"]] == names
    printed = capsys.readouterr().out
    if flag == "--adaptive":
        assert data["attacks"][1]["adaptive_for"] == ["fsr (FSR)"]
        assert "adaptive: fsr (FSR): joint-pgd" in printed
        assert "## Adaptive attacks" in (out / "eval.md").read_text()
    else:
        assert "adaptive:" not in printed
