"""Training images per second of recipes at one scale, and the wall time their budget implies.

A zoo budget is fixed from a measurement, not a guess: this builds each
recipe's model, objective, attack and optimizer exactly as `tfrobust train`
does (`recipes.build`), times `train_on_batch` on one random batch of the
recipe's batch size, and projects the recipe's epochs x steps per epoch at
that speed. Random inputs cost what images do; data loading is not timed (it
is prefetched in parallel during training).

    python benchmarks/recipe_throughput.py recipes/trades_cifar10_resnet18.yaml ... \
        [--scale cpu] [--steps 4] [--set KEY=VALUE ...]

Run it on a quiet machine: the output records the load average.
"""

import argparse
import json
import os
import platform
import time

import keras
import numpy as np

from tfrobust import data
from tfrobust.cli.options import add_overrides
from tfrobust.recipes import build
from tfrobust.recipes.load import load_recipe


def images_per_second(recipe, steps, warmup=2):
    """Mean training throughput of the recipe's own step after `warmup` steps."""
    keras.utils.set_random_seed(0)
    with build.dtype_policy(recipe):
        classifier = build.model(recipe)
        robust = build.trainer(recipe, classifier)
        robust.compile(optimizer=build.optimizer(recipe))
    spec = data.get_spec(recipe.dataset.name)
    n = recipe.training.batch_size
    rng = np.random.default_rng(0)
    x = rng.random((n, *spec.image_shape), dtype=np.float32)
    y = rng.integers(0, spec.num_classes, n)
    for _ in range(warmup):  # compilation and first-call overheads
        robust.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        robust.train_on_batch(x, y)
    return n * steps / (time.perf_counter() - start), classifier.count_params()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="+", help="recipe YAML files")
    parser.add_argument("--scale", default="cpu", help="the recipes' scale (default cpu)")
    parser.add_argument("--steps", type=int, default=4, help="timed steps per recipe")
    add_overrides(parser)
    args = parser.parse_args()

    rows = []
    for path in args.recipes:
        recipe = load_recipe(path, args.scale, args.overrides)
        speed, params = images_per_second(recipe, args.steps)
        images = recipe.training.epochs * build.steps_per_epoch(recipe) * recipe.training.batch_size
        rows.append(
            {
                "recipe": path,
                "scale": args.scale,
                "params": params,
                "images_per_s": round(speed, 1),
                "epochs": recipe.training.epochs,
                "projected_hours": round(images / speed / 3600, 2),
            }
        )
        print(json.dumps(rows[-1]), flush=True)

    print(
        f"\n{args.steps} timed steps after 2 warm-up steps, keras {keras.__version__} "
        f"({keras.backend.backend()}), {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    print("| recipe | params | images/s | epochs | projected hours |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['recipe']} | {row['params']:,} | {row['images_per_s']} | {row['epochs']} "
            f"| {row['projected_hours']} |"
        )


if __name__ == "__main__":
    main()
