"""Run a recipe end to end: train with `fit`, evaluate, write a zoo entry.

The run folder is itself a zoo entry (`tfrobust.zoo.entry`), plus TensorBoard
logs (`logs/`) and the state `BackupAndRestore` needs to resume a killed run
from its last epoch (`backup/`). Run the same command again to resume.
"""

import dataclasses
import json
import pathlib
import shutil

import keras
import yaml

from tfrobust.recipes import build
from tfrobust.zoo import entry as zoo_entry
from tfrobust.zoo.files import atomic_path
from tfrobust.zoo.files import write_text


def resolved(recipe):
    """The recipe as plain data, with every default filled in."""
    data = dataclasses.asdict(recipe)
    data.pop("scales")
    return data


def save_model(model, path):
    """Save a `.keras` file atomically, with a `weights.json` holding its SHA-256."""
    from tfrobust.data.checksums import sha256

    with atomic_path(path) as tmp:
        model.save(tmp)
    info = {"file": path.name, "sha256": sha256(path), "url": None}
    write_text(path.parent / zoo_entry.WEIGHTS_INFO, json.dumps(info, indent=2) + "\n")


def fit(recipe, out_dir, strategy, verbose="auto", callbacks=()):
    """Train as the recipe says; resumes from `out_dir/backup` if a run was interrupted.

    `callbacks` run after the run's own (TensorBoard, BackupAndRestore).
    """
    keras.utils.set_random_seed(recipe.training.seed)
    train, validation = build.datasets(recipe)
    with strategy.scope():
        classifier = build.model(recipe)
        robust = build.trainer(recipe, classifier)
        robust.compile(optimizer=build.optimizer(recipe))
    callbacks = [
        keras.callbacks.TensorBoard(str(out_dir / "logs")),
        keras.callbacks.BackupAndRestore(str(out_dir / "backup"), double_checkpoint=True),
        *callbacks,
    ]
    robust.fit(train, epochs=recipe.training.epochs, steps_per_epoch=build.steps_per_epoch(recipe),
               validation_data=validation, callbacks=callbacks, verbose=verbose,
               shuffle=False)  # tf.data shuffles every epoch
    return classifier


def evaluate(recipe, classifier, progress=True):
    """The recipe's evaluation protocol on the first `n` test images."""
    from tfrobust import data
    from tfrobust import evaluation

    config = recipe.evaluation
    images, labels, source = data.load_uint8(recipe.dataset.name, "test", recipe.dataset.data_dir)
    x = images[:config.n].astype("float32") / 255.0
    return evaluation.evaluate(
        classifier, (x, labels[:config.n]), attacks=list(config.attacks), eps=config.eps,
        norm=config.norm, n=config.n, batch_size=config.batch_size, seed=recipe.training.seed,
        curve_eps=config.curve_eps, sanity=config.sanity, attack_kwargs=config.attack_kwargs,
        model_name=recipe.name, dataset_name=source.report_as, progress=progress)


def write_entry(out_dir, recipe, classifier, summary, command):
    from tfrobust import evaluation
    from tfrobust.zoo.card import model_card

    recipe_data = resolved(recipe)
    save_model(classifier, out_dir / zoo_entry.WEIGHTS)
    write_text(out_dir / zoo_entry.RECIPE, yaml.safe_dump(recipe_data, sort_keys=False))
    evaluation.write_report(summary, out_dir)
    write_text(out_dir / zoo_entry.CARD, model_card(recipe_data, summary, command))


def publish(out_dir, name, models_root):
    """Copy a run's zoo files to `models_root/<name>/` and regenerate the leaderboard."""
    from tfrobust.zoo.leaderboard import write_leaderboard

    target = pathlib.Path(models_root) / name
    target.mkdir(parents=True, exist_ok=True)
    for path in out_dir.iterdir():
        if path.is_file():
            shutil.copy2(path, target / path.name)
    write_leaderboard(pathlib.Path(models_root))
    return target


def run_recipe(recipe, out_dir, strategy, command, verbose="auto", progress=True):
    """Train, evaluate and write the zoo entry into `out_dir`; return the summary."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    classifier = fit(recipe, out_dir, strategy, verbose)
    summary = evaluate(recipe, classifier, progress)
    write_entry(out_dir, recipe, classifier, summary, command)
    return summary
