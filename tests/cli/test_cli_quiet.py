"""A quiet, conventional command: no TensorFlow noise, fast help, exit codes 0 / 2 / 1."""

import os
import subprocess
import sys

import pytest

from tfrobust.cli import main as cli

NOISE = ("oneDNN", "cuda drivers", "cuInit", "absl::InitializeLog", "cpu_feature_guard")


def tfrobust(*argv, **env):
    return subprocess.run(
        [sys.executable, "-m", "tfrobust.cli.main", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )


def test_help_imports_no_heavy_library():
    code = (
        "import sys; from tfrobust.cli.main import build_parser; build_parser(); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'jax', 'numpy', 'matplotlib') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_commands_print_no_tensorflow_start_up_noise():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-m", "tfrobust.cli.main", "zoo", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0 and "mnist/lenet-pgd_at" in result.stdout
    assert not [line for line in result.stderr.splitlines() if any(n in line for n in NOISE)], (
        result.stderr
    )


def _noise(stderr):
    return {n for line in stderr.splitlines() for n in NOISE if n in line}


def test_verbose_brings_tensorflow_start_up_logs_back():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    bare = subprocess.run(
        [sys.executable, "-c", "import tensorflow"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if not _noise(bare.stderr):
        pytest.skip("this TensorFlow build writes no start-up logs here")
    result = subprocess.run(
        [sys.executable, "-m", "tfrobust.cli.main", "zoo", "list", "--verbose"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0 and "mnist/lenet-pgd_at" in result.stdout
    assert _noise(bare.stderr) <= _noise(result.stderr), result.stderr


def test_bad_input_is_one_line_with_exit_code_2():
    result = tfrobust("zoo", "show", "mnist/nothing")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith(
        "tfrobust zoo: error: Unknown zoo model 'mnist/nothing'. Available: "
    )


def test_bad_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["eval"])
    assert exit_info.value.code == 2 and "required: model" in capsys.readouterr().err


def _crash(args):
    raise RuntimeError("boom")


def test_unexpected_errors_exit_1_with_one_line_unless_verbose(monkeypatch, capsys):
    from tfrobust.cli import zoo

    monkeypatch.setattr(zoo, "list_command", _crash)
    assert cli.main(["zoo", "list"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "tfrobust zoo: internal error: RuntimeError: boom (rerun with --verbose for the traceback)"
    )
    assert cli.main(["zoo", "list", "--verbose"]) == 1  # --verbose also after the command
    assert "Traceback" in capsys.readouterr().err
