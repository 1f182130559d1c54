"""A killed `tfrobust train` loses nothing and, resumed, trains exactly what it would have.

Runs the MNIST PGD-AT recipe at a tiny scale on the bundled sample in
subprocesses: one uninterrupted, one killed (SIGKILL) at a random point after
its first epoch and run again; the final weights must be equal to the last
digit on CPU.
"""

import pathlib
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tfrobust import data
from tfrobust.recipes import load_recipe
from tfrobust.recipes import run

ROOT = pathlib.Path(__file__).resolve().parents[2]
RECIPE = ROOT / "recipes" / "pgd_at_mnist_lenet.yaml"
OVERRIDES = [
    f"dataset.data_dir={data.SAMPLE_DIR}",
    "dataset.n_train=256",
    "dataset.validation.n=64",
    "dataset.augment=true",
    "training.epochs=4",
    "training.batch_size=64",
    "attack.args.steps=2",
]
TRAIN = f"""
import pathlib, sys
import tensorflow as tf
from tfrobust.recipes import load_recipe, run
recipe = load_recipe({str(RECIPE)!r}, scale="cpu", overrides={OVERRIDES!r})
run.fit(recipe, pathlib.Path(sys.argv[1]), tf.distribute.get_strategy(), verbose=0)
"""


def train(out_dir):
    subprocess.run(
        [sys.executable, "-c", TRAIN, str(out_dir)], check=True, cwd=ROOT, capture_output=True
    )


def weights(out_dir):
    from tfrobust.saving import load_keras

    return [np.asarray(w) for w in load_keras(out_dir / "model.keras").get_weights()]


def test_a_run_killed_at_a_random_point_resumes_to_the_same_weights(tmp_path):
    train(tmp_path / "whole")
    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-c", TRAIN, str(killed)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 300
        while not list((killed / "backup").glob("epoch-*")) and process.poll() is None:
            assert time.time() < deadline, "the run saved no epoch in 300 s"
            time.sleep(0.05)
        time.sleep(random.uniform(0.0, 1.5))  # anywhere in the following epochs
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert not (killed / "model.keras").exists() or process.returncode == 0
    train(killed)
    for a, b in zip(weights(tmp_path / "whole"), weights(killed), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not (killed / "backup").exists()


class Stop(Exception):
    pass


def test_the_model_is_saved_before_evaluation_and_a_rerun_only_evaluates(tmp_path, monkeypatch):
    recipe = load_recipe(
        RECIPE,
        scale="cpu",
        overrides=OVERRIDES[:2]
        + [
            "dataset.validation.n=16",
            "training.epochs=1",
            "training.batch_size=64",
            "attack.args.steps=1",
            "evaluation.n=8",
            "evaluation.attacks=[pgd]",
            "evaluation.sanity=false",
        ],
    )

    def killed_evaluation(*args, **kwargs):
        raise Stop

    import tensorflow as tf

    monkeypatch.setattr(run, "evaluate", killed_evaluation)
    with pytest.raises(Stop):
        run.run_recipe(
            recipe, tmp_path, tf.distribute.get_strategy(), "test", verbose=0, progress=False
        )
    assert (tmp_path / "model.keras").is_file() and not (tmp_path / "backup").exists()
    monkeypatch.undo()
    monkeypatch.setattr(run, "fit", lambda *a, **k: pytest.fail("trained again"))
    summary = run.run_recipe(
        recipe, tmp_path, tf.distribute.get_strategy(), "test", verbose=0, progress=False
    )
    assert 0 <= summary.robust_accuracy <= summary.clean_accuracy <= 1
    assert list((tmp_path / "eval_parts").glob("*.json"))  # one result file per attack
