"""The `tfrobust` command line: help, data, demo."""

import argparse
import subprocess
import sys

import pytest

from tfrobust import data
from tfrobust.cli import main as cli
from tfrobust.cli.options import parse_eps


@pytest.mark.parametrize("command", [[], *([name] for name in cli.COMMANDS)])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: tfrobust" in capsys.readouterr().out


def test_console_script_is_installed():
    result = subprocess.run(
        [sys.executable, "-m", "tfrobust.cli.main", "data", "list"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "cifar10" in result.stdout and "svhn_cropped" in result.stdout


def test_data_prepare_reports_counts_and_source(capsys):
    assert cli.main(["data", "prepare", "cifar10", "--data-dir", str(data.SAMPLE_DIR)]) == 0
    out = capsys.readouterr().out
    assert "cifar10 train: 1000 images of shape (32, 32, 3)" in out
    assert "cifar10 test: 500 images" in out and "'CIFAR-10 (JPEG)'" in out
    assert "images per class: 50 50 50" in out


def test_data_errors_are_one_clear_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TFROBUST_DATA_DIR", raising=False)
    code = cli.main(["data", "prepare", "svhn", "--data-dir", str(tmp_path), "--no-download"])
    assert code == 2
    assert "tfrobust data: error: Could not load 'svhn'" in capsys.readouterr().err


@pytest.mark.parametrize("text, value", [("8/255", 8 / 255), ("0.3", 0.3), ("0", 0.0)])
def test_eps_accepts_numbers_and_fractions(text, value):
    assert parse_eps(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["-0.1", "1/0", "eight"])
def test_eps_rejects_what_is_not_a_budget(text):
    with pytest.raises(argparse.ArgumentTypeError, match="Received"):
        parse_eps(text)


def test_eval_checks_eps_against_the_norm(capsys):
    """8 is not an L-inf budget in the pixel scale; an L2 budget above 1 is fine."""
    code = cli.main(["eval", "mnist/lenet-pgd_at", "--dataset", "mnist", "--eps", "8"])
    assert code == 2 and "pixel scale (8/255, not 8)" in capsys.readouterr().err
    assert parse_eps("1.5") == 1.5


def test_demo_shows_the_zoo_model_is_robust_and_the_standard_one_is_not(capsys):
    assert cli.main(["demo", "--n", "100", "--attacks", "fgsm,pgd"]) == 0
    out = capsys.readouterr().out
    rows = {
        cells[1].strip(): [float(c.strip().rstrip("%")) for c in cells[2:-1]]
        for cells in (line.split("│") for line in out.splitlines())
        if len(cells) == 7
    }
    robust = rows["mnist/lenet-pgd_at (zoo)"]
    standard = rows["standard LeNet, 1 epoch"]
    assert robust[0] > 90 and standard[0] > 70  # clean accuracy
    assert robust[2] > standard[2] + 30  # PGD-20: the zoo model holds, the standard one collapses
