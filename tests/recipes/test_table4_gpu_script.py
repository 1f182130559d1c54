"""`recipes/table4_gpu.sh`: both rows get one budget; they train one after the other, then are
evaluated side by side (the runs it starts are recorded by a stand-in `python`)."""

import os
import subprocess
import sys

from tfrobust.zoo.entry import models_dir

ROOT = models_dir().parent


def test_the_rows_share_the_budget_train_in_turn_then_evaluate(tmp_path):
    calls = tmp_path / "calls.txt"
    fake = tmp_path / "bin" / "python"
    fake.parent.mkdir()
    fake.write_text(
        f'#!/bin/sh\nif [ "$1" = "-c" ]; then exec {sys.executable} "$@"; fi\n'
        f'echo "$*" >> {calls}\n'
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}"}
    subprocess.run(
        ["bash", "recipes/table4_gpu.sh", str(tmp_path / "out"), "10", "--set", "model.width=0.5"],
        cwd=ROOT,
        env=env,
        check=True,
    )

    runs = calls.read_text().splitlines()
    budget = "--set training.epochs=10 --set training.schedule.boundaries=[7.4, 8.9]"
    for run in runs:
        assert run.startswith("-m tfrobust.cli.main train recipes/") and "--scale gpu" in run
        assert f"--set model.width=0.5 {budget}" in run
    assert [r.split()[3] for r in runs[:2]] == [
        "recipes/pgd_at_cifar10_resnet18.yaml",
        "recipes/fsr_cifar10_resnet18_pgd_at.yaml",
    ]
    assert all(r.endswith("--train-only") for r in runs[:2])
    assert sorted(r.split()[3] for r in runs[2:]) == sorted(r.split()[3] for r in runs[:2])
    assert not any("--train-only" in r for r in runs[2:])
