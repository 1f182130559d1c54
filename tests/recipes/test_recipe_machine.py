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


@pytest.mark.parametrize("flags, named", [("fpu avx2 avx512f", True), ("fpu avx2", False)])
def test_the_machine_says_whether_the_cpu_has_avx512(tmp_path, monkeypatch, flags, named):
    """Two cloud CPUs both called "AMD EPYC" differ 2x in speed with and without AVX-512."""
    from tfrobust.recipes import run

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: {flags}\n")
    monkeypatch.setattr(run, "CPUINFO", cpuinfo)
    assert run.machine().startswith(f"{os.cpu_count()} cores, AMD EPYC")
    assert ("AVX-512" in run.machine()) == named
