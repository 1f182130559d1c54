"""Every snippet of docs/getting-started.md runs, in order, in a fresh folder."""

import os
import pathlib
import re
import subprocess
import sys

from tfrobust import data

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "getting-started.md"


def snippets():
    return re.findall(r"```(bash|python)\n(.*?)```", DOC.read_text(), re.DOTALL)


def test_every_snippet_runs(tmp_path):
    env = {
        **os.environ,
        "SAMPLE": str(data.SAMPLE_DIR),
        "PATH": f"{pathlib.Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    (tmp_path / "recipes").symlink_to(ROOT / "recipes")
    assert len(snippets()) == 5
    for kind, code in snippets():
        command = (
            ["bash", "-euo", "pipefail", "-c", code]
            if kind == "bash"
            else [sys.executable, "-c", code]
        )
        result = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, f"{code}\n{result.stdout}\n{result.stderr}"
    assert (tmp_path / "runs" / "eval" / "eval.json").is_file()
    assert (tmp_path / "runs" / "lenet-savedmodel" / "saved_model.pb").is_file()
