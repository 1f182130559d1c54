"""PNG grids and the `tfrobust saliency` subcommand (its parser called directly)."""

import argparse

import keras
import numpy as np
import pytest

from tfrobust.cli import saliency as cli
from tfrobust.saliency import figures


def mnist_cnn(tmp_path=None):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(4, 3, strides=2, activation="relu", name="conv"),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    if tmp_path is None:
        return model
    path = tmp_path / "model.keras"
    model.save(path)
    return path


def parse(argv):
    parser = argparse.ArgumentParser(prog="tfrobust")
    cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["saliency", *argv])


def is_png(path):
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_grid_of_clean_and_adversarial_maps(tmp_path):  # TF only: drawing is NumPy + matplotlib
    model = mnist_cnn()
    rng = np.random.default_rng(0)
    x = rng.random((2, 28, 28, 1), dtype=np.float32)
    x_adv = np.clip(x + rng.choice([-0.1, 0.1], x.shape), 0, 1).astype("float32")
    path = figures.saliency_figure(
        tmp_path / "grid.png", model, x, [1, 2], x_adv, names=("gradient", "grad_cam")
    )
    assert is_png(path)
    shown = figures.overlay(x, np.ones((2, 28, 28)))
    assert shown.shape == (2, 28, 28, 3) and 0 <= shown.min() and shown.max() <= 1
    assert figures.magnitude(np.zeros((1, 4, 4, 3))).max() == 0


def test_cli_writes_the_png_for_a_saved_model(tmp_path):
    model_path = mnist_cnn(tmp_path)
    args = parse(
        [
            str(model_path),
            "--dataset",
            "mnist",
            "--n",
            "2",
            "--methods",
            "gradient,grad_cam_plus_plus",
            "--steps",
            "2",
            "--eps",
            "0.1",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert args.func(args) == 0
    assert is_png(tmp_path / "out" / "saliency.png")


def test_cli_rejects_bad_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit):
        parse(["m.keras", "--methods", "gradient,lime"])
    assert "Received: 'gradient,lime'" in capsys.readouterr().err
    args = parse([str(tmp_path / "missing.keras")])
    with pytest.raises(FileNotFoundError, match="No model file at"):
        args.func(args)


def test_figures_say_true_and_predicted_and_carry_one_colour_bar():
    assert figures.image_title(7, 3, 0.61) == "true 7, pred 3 (61%) ✗"
    assert (
        figures.image_title(7, 7, 0.99, label=lambda c: f"class{c}")
        == "true class7, pred class7 (99%)"
    )
    rng = np.random.default_rng(0)
    x = rng.random((1, 28, 28, 1), dtype=np.float32)
    pixel, cam = figures.panels(mnist_cnn(), x, [1], ("gradient", "grad_cam"))
    assert pixel.shape == cam.shape == (1, 28, 28, 3)  # both drawn in COLORMAP, not grey
    zero = figures.colored(np.zeros((1, 1, 1)))[0, 0, 0]
    assert np.allclose(
        figures.overlay(np.zeros((1, 1, 1, 1)), np.zeros((1, 1, 1)), 1.0)[0, 0, 0], zero
    )  # an overlay's 0 is the pixel map's 0
    fig = figures.grid_figure([[x[0], pixel[0], cam[0]]], [["t", "", ""]])
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 1 and bars[0].get_ylabel() == figures.COLORBAR_LABEL
