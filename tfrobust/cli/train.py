"""`tfrobust train RECIPE`: train a paper setting with `model.fit`, evaluate it, publish it.

The recipe is validated before anything starts. Run the same command again
to resume an interrupted run from its last completed epoch.
"""

import shlex
import sys

from tfrobust import installed
from tfrobust.cli.options import add_overrides


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "train", help="train a recipe, evaluate it, write a zoo entry", description=__doc__
    )
    parser.add_argument("recipe", help="a recipe file, e.g. recipes/pgd_at_mnist_lenet.yaml")
    parser.add_argument("--scale", help="a named scale of the recipe, e.g. cpu")
    add_overrides(parser)
    parser.add_argument("--out", help="run folder (default runs/<recipe name>[-<scale>])")
    parser.add_argument(
        "--strategy",
        default="auto",
        choices=("auto", "default", "mirrored", "multi_worker"),
        help="tf.distribute strategy; auto: multi-worker when TF_CONFIG names "
        "several workers, mirrored on several GPUs, else default",
    )
    parser.add_argument(
        "--publish",
        nargs="?",
        const="models",
        metavar="MODELS_DIR",
        help="also copy the entry into the zoo (default models/)",
    )
    parser.add_argument(
        "--check", action="store_true", help="only validate the recipe and print it resolved"
    )
    parser.add_argument(
        "--train-only",
        action="store_true",
        help="train (or resume) and save the model, without evaluating; the same command "
        "without this flag evaluates it later",
    )
    parser.set_defaults(func=run)


def where_results_go(out):
    """Told before a run that may take hours, so users can watch it and find what it wrote."""
    logs = (
        f"TensorBoard logs in {out}/logs/ (tensorboard --logdir {out}/logs)"
        if installed.tensorflow_installed()
        else f"each epoch's metrics in {out}/logs/epochs.csv"
    )
    return (
        f"Training, then evaluating, in the run folder {out}/: {logs}, each finished attack in "
        f"{out}/eval_parts/, and at the end the zoo entry (model.keras, eval.json, "
        "MODEL_CARD.md). Run the same command again to resume."
    )


def run(args):
    import yaml

    from tfrobust.recipes import load_recipe
    from tfrobust.recipes import run as runner

    recipe = load_recipe(args.recipe, scale=args.scale, overrides=args.overrides)
    if args.check:
        print(yaml.safe_dump(runner.resolved(recipe), sort_keys=False))
        return 0
    from tfrobust.backend import make_strategy

    out = args.out or f"runs/{recipe.name}" + (f"-{args.scale}" if args.scale else "")
    command = "tfrobust " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    strategy = make_strategy(args.strategy)
    print(where_results_go(out))
    if args.train_only:
        runner.trained(recipe, out, strategy)
        print(f"trained: {out}/model.keras; evaluate it with the same command, no --train-only")
        return 0
    summary = runner.run_recipe(recipe, out, strategy, command)
    print(
        f"clean {summary.clean_accuracy:.2%}, robust {summary.robust_accuracy:.2%} "
        f"on {summary.n} images of {summary.dataset}; zoo entry in {out}"
    )
    if args.publish:
        import pathlib

        print(f"published to {runner.publish(pathlib.Path(out), recipe.name, args.publish)}")
    return 0
