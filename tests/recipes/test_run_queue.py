"""`recipes/run_queue.sh` runs a snapshot of the committed package: a pull cannot mix versions."""

import os
import shutil
import subprocess

from tfrobust.zoo.entry import models_dir

ROOT = models_dir().parent


def test_the_queue_runs_the_committed_package_and_skips_finished_rows(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--shared", str(ROOT), str(clone)], check=True)
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True
    ).stdout.strip()
    shutil.copy(ROOT / "recipes" / "run_queue.sh", clone / "recipes")  # this tree's queue
    fake = clone / ".venv" / "bin" / "tfrobust"  # stands in for training: says what it would run
    fake.parent.mkdir(parents=True)
    fake.write_text('#!/bin/sh\necho "PYTHONPATH=$PYTHONPATH MODELS=$TFROBUST_MODELS_DIR $*"\n')
    fake.chmod(0o755)
    (clone / "runs").mkdir()
    (clone / "runs" / "done-b").touch()
    (clone / "tfrobust" / "__init__.py").write_text("raise ImportError('uncommitted edit')\n")

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run(
        ["bash", "recipes/run_queue.sh", "x/a.yaml", "x/b.yaml"], cwd=clone, env=env, check=True
    )

    code = clone / "runs" / f"code-{head}"
    assert (code / "tfrobust" / "__init__.py").read_text() == (
        ROOT / "tfrobust" / "__init__.py"
    ).read_text()  # the commit's package, not the edited tree's
    log = (clone / "runs" / "a.log").read_text()
    assert (
        f"PYTHONPATH={code} MODELS={clone / 'models'} train x/a.yaml --scale cpu --publish" in log
    )
    assert not (clone / "runs" / "b.log").exists()  # finished before: skipped
    queue = (clone / "runs" / "queue.log").read_text()
    assert f"start a at {head}" in queue and "done a" in queue and "start b" not in queue
    shutil.rmtree(clone)
