"""The machine a run's epochs are recorded on (`training_time.json`, the card) names its kernels."""

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("flag, named", [("1", True), ("0", False)])
def test_the_machine_says_whether_onednn_kernels_ran(flag, named):
    code = "from tfrobust.recipes.run import machine; print(machine())"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_ENABLE_ONEDNN_OPTS": flag},
        timeout=300,
        check=True,
    )
    assert ("oneDNN" in result.stdout) == named, result.stdout
