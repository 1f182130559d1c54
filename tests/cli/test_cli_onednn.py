"""The command runs TensorFlow's oneDNN CPU kernels, unless the user chose otherwise."""

import os
import subprocess
import sys

NOTICE = "oneDNN custom operations are on"


def _zoo_list_logs(**env):
    """`tfrobust zoo list --verbose`'s stderr, with TensorFlow's info logs shown."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")
    }
    result = subprocess.run(
        [sys.executable, "-m", "tfrobust.cli.main", "zoo", "list", "--verbose"],
        capture_output=True,
        text=True,
        env={**base, **env},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_onednn_is_on_by_default():
    assert NOTICE in _zoo_list_logs()


def test_the_users_setting_wins():
    assert NOTICE not in _zoo_list_logs(TF_ENABLE_ONEDNN_OPTS="0")
