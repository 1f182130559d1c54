"""Argument types shared by the subcommands."""

import argparse
import pathlib
from fractions import Fraction


def parse_eps(text):
    """A budget, as a number or a fraction ("8/255"); `check_eps` later checks it for the norm.

    The [0, 1] bound depends on `--norm` (an L2 budget may exceed 1), which an
    argparse type cannot see, so only the form and the sign are checked here.
    """
    try:
        value = float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"epsilon must be a number or a fraction such as 8/255. Received: {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"epsilon must be >= 0. Received: {text!r}")
    return value


def load_model(model, models_dir=None):
    """A model named on the command line: a zoo ID (`tfrobust zoo list`) or a `.keras` file."""
    import keras

    import tfrobust.architectures  # noqa: F401  registers the layers a saved model may use
    import tfrobust.layers  # noqa: F401
    from tfrobust import zoo

    if model.endswith(".keras"):
        if not pathlib.Path(model).is_file():
            raise FileNotFoundError(f"No model file at {model}")
        return keras.saving.load_model(model, compile=False)
    return zoo.load_model(model, models_dir)
