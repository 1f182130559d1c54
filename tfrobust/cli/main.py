"""The `tfrobust` command: one subcommand per module in this package."""

import argparse
import importlib
import os
import sys

# Each module has `add_parser(subparsers)`, which sets `func` on its parser.
COMMANDS = ("demo", "data", "train", "eval", "zoo", "export", "saliency")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tfrobust", description="Adversarially robust image classifiers for Keras 3.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"tfrobust.cli.{name}").add_parser(subparsers)
    return parser


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (ValueError, FileNotFoundError) as error:
        print(f"tfrobust {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
