"""Argument types shared by the subcommands."""

import argparse
from fractions import Fraction


def parse_eps(text):
    """A budget in the [0, 1] pixel scale, as a number or a fraction ("8/255")."""
    try:
        value = float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"epsilon must be a number or a fraction such as 8/255. Received: {text!r}")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f"epsilon is in the [0, 1] pixel scale (8/255, not 8). Received: {text!r}")
    return value
