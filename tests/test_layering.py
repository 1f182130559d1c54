"""Imports run one way: each package loads only what sits below it."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.jax

ABOVE = {  # package: the packages above it, which importing it must not load
    "tfrobust.training": ("tfrobust.architectures", "tfrobust.layers", "tfrobust.attacks"),
    "tfrobust.layers": ("tfrobust.architectures", "tfrobust.training"),
    "tfrobust.attacks": ("tfrobust.architectures", "tfrobust.training"),
}


@pytest.mark.parametrize("package", sorted(ABOVE))
def test_a_package_does_not_load_those_above_it(package):
    """In a fresh process (this one has imported everything) whose backend is this one's."""
    script = (
        f"import sys, {package}\nprint(sorted(m for m in {ABOVE[package]!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout
