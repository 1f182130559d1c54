"""The `tfrobust` command: one subcommand per module in this package.

Exit codes: 0 success, 2 bad usage or bad input (one line saying what and how
to fix it), 1 anything else. Subcommand modules import only the standard
library at the top, so `--help` never loads TensorFlow.
"""

import argparse
import importlib
import os
import sys
import traceback

# Each module has `add_parser(subparsers)`, which sets `func` on its parser.
COMMANDS = ("demo", "data", "train", "eval", "zoo", "export", "saliency")
VERBOSE = ("-v", "--verbose")
VERBOSE_HELP = "show TensorFlow's start-up logs and full tracebacks"


class CommandParser(argparse.ArgumentParser):
    """A (sub)command's parser: `--verbose` after it too, as users type it at the end.

    `add_subparsers` builds nested parsers of its parser's own class, so every level
    accepts it.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_argument(
            *VERBOSE, action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP
        )


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tfrobust",
        description="Adversarially robust image classifiers for Keras 3.",
        epilog="Exit codes: 0 success, 2 bad usage or bad input, 1 any other error.",
    )
    parser.add_argument(*VERBOSE, action="store_true", help=VERBOSE_HELP)
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=CommandParser
    )
    for name in COMMANDS:
        importlib.import_module(f"tfrobust.cli.{name}").add_parser(subparsers)
    return parser


def user_errors():
    """Exceptions that mean bad input: reported as one line with exit code 2."""
    from tfrobust.zoo.download import DownloadError

    return (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError, DownloadError)


def use_onednn():
    """Turn on TensorFlow's oneDNN CPU kernels unless `TF_ENABLE_ONEDNN_OPTS` is set.

    TensorFlow 2.21 leaves them off on some CPUs (no oneDNN notice at start-up),
    such as our 2-core AMD EPYC with AVX2 and no AVX-512, where they trained our
    CIFAR-10 ResNet-18 PGD-AT recipe 2.0x faster (benchmarks/recipe_throughput.py).
    Only an environment variable read when TensorFlow loads can choose them.
    """
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def main(argv=None):
    args = build_parser().parse_args(argv)
    use_onednn()
    if not args.verbose:
        from tfrobust.cli.quiet import silence_tensorflow

        silence_tensorflow()
    try:
        return args.func(args) or 0
    except Exception as error:  # noqa: BLE001  the exit code says which kind it was
        if isinstance(error, user_errors()):
            print(f"tfrobust {args.command}: error: {error}", file=sys.stderr)
            return 2
        if args.verbose:
            traceback.print_exc()
        else:
            print(
                f"tfrobust {args.command}: internal error: {type(error).__name__}: {error} "
                "(rerun with --verbose for the traceback)",
                file=sys.stderr,
            )
        return 1


if __name__ == "__main__":
    sys.exit(main())
