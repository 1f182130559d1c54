"""What a new user ran into, each fixed: one test per report."""

import json
import pathlib
import re
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest

from tfrobust.cli import main as cli
from tfrobust.zoo.entry import find_entries
from tfrobust.zoo.entry import models_dir
from tfrobust.zoo.eps_text import eps_text

ROOT = pathlib.Path(__file__).resolve().parents[2]
ZOO_ID = "mnist/lenet-pgd_at"


def is_png(path):
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_saliency_loads_a_tfrobust_model_file_in_a_fresh_process(tmp_path):
    """It used to fail with "Could not locate class 'Normalize'" (layers not registered)."""
    model = models_dir() / ZOO_ID / "model.keras"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfrobust.cli.main",
            "saliency",
            str(model),
            "--dataset",
            "mnist",
            "--n",
            "1",
            "--methods",
            "gradient",
            "--steps",
            "1",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert is_png(tmp_path / "saliency.png")


def test_saliency_accepts_a_zoo_id_and_its_dataset(tmp_path, capsys):
    assert (
        cli.main(
            [
                "saliency",
                ZOO_ID,
                "--n",
                "1",
                "--methods",
                "gradient",
                "--steps",
                "1",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert is_png(tmp_path / "saliency.png")


def test_eval_of_a_zoo_id_uses_the_entry_dataset_and_threat_model(tmp_path, capsys):
    assert (
        cli.main(
            [
                "eval",
                ZOO_ID,
                "--data-dir",
                str(ROOT / "tfrobust/data/sample"),
                "--n",
                "8",
                "--attacks",
                "fgsm",
                "--no-progress",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    eps = find_entries()[ZOO_ID].eps
    assert (
        f"Using dataset mnist, eps {eps_text(eps)}, norm linf (from the zoo entry {ZOO_ID})" in out
    )
    report = json.loads((tmp_path / "eval.json").read_text())
    assert report["threat_model"] == {"norm": "linf", "eps": pytest.approx(eps)}
    assert f"eps={eps_text(eps)}," in out


def test_zoo_list_never_cuts_ids(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    assert cli.main(["zoo", "list"]) == 0
    out = capsys.readouterr().out
    for name in ["cifar10/resnet20-fast_at", "mnist/lenet-standard", ZOO_ID]:
        assert f" {name} " in out


@pytest.mark.parametrize("command", cli.COMMANDS)
def test_help_names_only_files_that_exist(command, capsys):
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    for path in re.findall(r"recipes/[\w./-]+\.yaml", capsys.readouterr().out):
        assert (ROOT / path).is_file(), f"`tfrobust {command} --help` names {path}"


@pytest.mark.parametrize(
    "eps, text",
    [(0.1, "0.1"), (0.3, "0.3"), (8 / 255, "8/255"), (2 / 255, "2/255"), (0.5, "0.5"), (1.0, "1")],
)
def test_budgets_are_shown_as_people_write_them(eps, text):
    assert eps_text(eps) == text


def test_readme_fit_example_warns_nothing():
    """Keras warns "`shuffle=True` was passed, but will be ignored" for every dataset."""
    import tensorflow as tf

    import tfrobust

    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    robust = tfrobust.adversarial(
        model, tfrobust.objectives.PGDAT(), tfrobust.attacks.PGD(eps=0.1, step_size=0.05, steps=1)
    )
    robust.compile(optimizer="adam")
    x = np.random.default_rng(0).random((8, 4, 4, 1), dtype=np.float32)
    train_ds = tf.data.Dataset.from_tensor_slices((x, np.arange(8) % 3)).batch(4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        robust.fit(train_ds, epochs=1, verbose=0)
    assert not [w for w in caught if "shuffle" in str(w.message)]


def test_tensorflow_datasets_offline_is_one_line(tmp_path, monkeypatch, capsys):
    """It used to print "Downloading and preparing dataset" and fail on importlib_resources."""
    import importlib

    import importlib_resources  # noqa: F401  the dependency tensorflow-datasets lacks

    load = importlib.import_module("tfrobust.data.load")
    monkeypatch.setattr(load, "_online", lambda: False)
    monkeypatch.delenv("TFROBUST_DATA_DIR", raising=False)
    assert (
        cli.main(["data", "prepare", "svhn", "--data-dir", str(tmp_path), "--split", "test"]) == 2
    )
    captured = capsys.readouterr()
    assert (
        "tensorflow-datasets 'svhn_cropped': offline: cannot download 'svhn_cropped' "
        "(no network)" in captured.err
    )
    assert "Downloading and preparing" not in captured.out + captured.err
