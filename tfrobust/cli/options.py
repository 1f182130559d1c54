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
            f"epsilon must be a number or a fraction such as 8/255. Received: {text!r}"
        )
    if value < 0:
        raise argparse.ArgumentTypeError(f"epsilon must be >= 0. Received: {text!r}")
    return value


def add_overrides(parser):
    """`--set KEY=VALUE`, repeatable: recipe values overridden (`recipes.load_recipe`)."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe value, e.g. --set training.epochs=3",
    )


class DownloadProgress:
    """A rich progress bar for a weights download (`tfrobust.zoo.download`)."""

    def __init__(self, description):
        from rich.progress import DownloadColumn
        from rich.progress import Progress
        from rich.progress import TimeRemainingColumn
        from rich.progress import TransferSpeedColumn

        self.description = description
        self.bar = Progress(
            *Progress.get_default_columns()[:-1],
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            transient=True,
        )

    def start(self, total):
        self.task = self.bar.add_task(self.description, total=total)
        self.bar.start()

    def advance(self, n):
        self.bar.advance(self.task, n)

    def stop(self):
        self.bar.stop()


def load_model(model, models_dir=None):
    """A model named on the command line: a zoo ID (`tfrobust zoo list`) or a `.keras` file.

    Both register tfrobust's layers first, without which Keras cannot rebuild
    a tfrobust model ("Could not locate class 'Normalize'").
    """
    from tfrobust import zoo
    from tfrobust.saving import load_keras

    if model.endswith(".keras"):
        if not pathlib.Path(model).is_file():
            raise FileNotFoundError(
                f"No model file at {model}: pass an existing .keras file "
                "or a zoo ID (tfrobust zoo list)"
            )
        return load_keras(model)
    return zoo.load_model(model, models_dir, progress=DownloadProgress(f"Downloading {model}"))
