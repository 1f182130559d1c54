"""Run a recipe end to end: train with `fit`, evaluate, write a zoo entry.

The run folder is itself a zoo entry (`tfrobust.zoo.entry`), plus TensorBoard
logs (`logs/`) and the state needed to resume a killed run from its last
epoch (`backup/`, `tfrobust.training.backup`). Run the same command again to
resume: training from the last epoch (reproducing the uninterrupted run), a
trained model (`model.keras`, saved before the backup is removed) straight to
evaluation, and the evaluation batch by batch (`eval_parts/`).
"""

import dataclasses
import datetime
import json
import os
import pathlib
import platform
import shutil
import time

import keras
import numpy as np
import yaml

from tfrobust import installed
from tfrobust.recipes import build
from tfrobust.recipes.validation import RecipeError
from tfrobust.training.eps_warmup import EpsilonWarmup
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


BACKUP = "backup"


class EpochTimes(keras.callbacks.Callback):
    """Writes each finished epoch's wall time and machine to `path` (atomically).

    A resumed run adds to the same file, so the card can state the training
    time of a run that spanned several sessions.
    """

    def __init__(self, path):
        super().__init__()
        self.path = pathlib.Path(path)

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        _record_time(self.path, "epochs", str(epoch), time.time() - self._start)


def _record_time(path, kind, key, seconds):
    """Add `seconds` under `kind`/`key` of `training_time.json`, keeping the rest."""
    record = json.loads(path.read_text()) if path.is_file() else {}
    record.setdefault("epochs", {})
    record.setdefault(kind, {})[key] = {"seconds": seconds, "machine": machine()}
    write_text(path, json.dumps(record, indent=1) + "\n")


CPUINFO = pathlib.Path("/proc/cpuinfo")


def machine():
    """Where a run trained, for its card: core count, CPU model, AVX-512, oneDNN, accelerators.

    TensorFlow's oneDNN kernels change a CPU's speed 2x (`cli.main.use_onednn`),
    and AVX-512 as much again: cloud CPUs often report a model name ("AMD EPYC")
    that is the same for generations with and without it.
    """
    fields = {}
    for line in CPUINFO.read_text().splitlines() if CPUINFO.exists() else []:
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())  # the first processor's
    text = f"{os.cpu_count()} cores, {fields.get('model name', platform.machine())}"
    if "avx512f" in fields.get("flags", "").split():
        text += ", AVX-512"
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        from tensorflow.python.util import _pywrap_util_port

        if _pywrap_util_port.IsMklEnabled():
            text += ", oneDNN"
        accelerators = sorted({d.device_type for d in tf.config.list_logical_devices()} - {"CPU"})
        text += "".join(f", {a}" for a in accelerators)
    elif keras.backend.backend() == "jax":
        import jax

        text += "".join(f", {d.device_kind}" for d in jax.devices() if d.platform != "cpu")
    return text


def _epoch_log(folder):
    """TensorBoard logs, or a CSV of the epochs' metrics where TensorFlow, which writes
    them, is not installed (JAX)."""
    if installed.tensorflow_installed():
        return keras.callbacks.TensorBoard(str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    return keras.callbacks.CSVLogger(str(folder / "epochs.csv"), append=True)


def fit(recipe, out_dir, strategy, verbose="auto", callbacks=()):
    """Train as the recipe says and save the classifier to `out_dir/model.keras`.

    Resumes from `out_dir/backup` (`training.backup`) if a run was
    interrupted: weights, optimizer, random states and the epoch to resume
    at, whose data the pipeline rebuilds (`build.datasets`), so the resumed
    run reproduces the uninterrupted one. The backup is removed only once the
    model is saved. `callbacks` run after the run's own.
    """
    from tfrobust.training import backup

    keras.utils.set_random_seed(recipe.training.seed)
    warmup = recipe.training.eps_warmup_epochs
    if warmup and recipe.attack is None:
        raise RecipeError(
            f"training.eps_warmup_epochs: the recipe has no training attack. Received: {warmup}"
        )
    with strategy.scope(), build.dtype_policy(recipe):
        classifier = build.model(recipe)
        robust = build.trainer(recipe, classifier)
        robust.compile(optimizer=build.optimizer(recipe))
        first_epoch = backup.restore(robust, out_dir / BACKUP)
    start = time.time()
    train, validation = build.datasets(recipe, first_epoch)
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    _record_time(  # SAT's saliency maps of a fixed model can take a fifth of its training
        out_dir / zoo_entry.TRAINING_TIME,
        "setup",
        f"{started}, epoch {first_epoch}",
        time.time() - start,
    )
    callbacks = [
        _epoch_log(out_dir / "logs"),
        backup.EpochBackup(out_dir / BACKUP),
        EpochTimes(out_dir / zoo_entry.TRAINING_TIME),
        *([EpsilonWarmup(warmup)] if warmup else []),
        *callbacks,
    ]
    robust.fit(
        train,
        epochs=recipe.training.epochs,
        initial_epoch=first_epoch,
        steps_per_epoch=build.steps_per_epoch(recipe),
        validation_data=validation,
        callbacks=callbacks,
        verbose=verbose,
    )
    save_model(classifier, out_dir / zoo_entry.WEIGHTS)  # before the backup goes
    shutil.rmtree(out_dir / BACKUP, ignore_errors=True)
    return classifier


def evaluate(recipe, classifier, progress=True, resume_dir=None):
    """The recipe's evaluation protocol on the first `n` test images (of the split's order).

    With `resume_dir`, each attack's result is kept there, so a rerun resumes.
    """
    from tfrobust import data
    from tfrobust import evaluation

    config = recipe.evaluation
    images, labels, source = data.load_uint8(recipe.dataset.name, "test", recipe.dataset.data_dir)
    x = images[: config.n].astype("float32") / 255.0
    summary = evaluation.evaluate(
        classifier,
        (x, labels[: config.n]),
        attacks=list(config.attacks),
        eps=config.eps,
        norm=config.norm,
        n=config.n,
        batch_size=config.batch_size,
        seed=recipe.training.seed,
        curve_eps=config.curve_eps,
        curve_attacks=config.curve_attacks,
        sanity=config.sanity,
        attack_kwargs=config.attack_kwargs,
        model_name=recipe.name,
        dataset_name=source.report_as,
        data_order=source.order,
        progress=progress,
        resume_dir=resume_dir,
    )
    if config.clean_n is None:
        return summary
    from tfrobust.attacks.protocol import predict_labels

    n = min(config.clean_n, len(labels))
    correct = [
        predict_labels(classifier, images[i : i + 1000].astype("float32") / 255.0, 250)
        == labels[i : i + 1000]
        for i in range(0, n, 1000)
    ]
    accuracy = float(np.concatenate(correct)[:n].mean())
    return dataclasses.replace(summary, test_clean={"n": n, "accuracy": accuracy})


def write_entry(out_dir, recipe, summary, command):
    """The zoo files of a run: resolved recipe, evaluation report, then the card from them."""
    from tfrobust import evaluation
    from tfrobust.zoo.card import entry_card

    write_text(out_dir / zoo_entry.RECIPE, yaml.safe_dump(resolved(recipe), sort_keys=False))
    evaluation.write_report(summary, out_dir)
    write_text(out_dir / zoo_entry.CARD, entry_card(out_dir, command))


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


def trained(recipe, out_dir, strategy, verbose="auto"):
    """The run's classifier: the one an earlier run saved in `out_dir` (stopped while
    evaluating, or told to train only), else trained now (`fit`, which saves it)."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / zoo_entry.WEIGHTS
    if weights.is_file():
        from tfrobust.saving import load_keras

        return load_keras(weights)
    return fit(recipe, out_dir, strategy, verbose)


def run_recipe(recipe, out_dir, strategy, command, verbose="auto", progress=True):
    """Train, evaluate and write the zoo entry into `out_dir`; return the summary."""
    out_dir = pathlib.Path(out_dir)
    classifier = trained(recipe, out_dir, strategy, verbose)
    summary = evaluate(recipe, classifier, progress, resume_dir=out_dir / "eval_parts")
    write_entry(out_dir, recipe, summary, command)
    return summary
