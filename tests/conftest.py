"""Test-wide settings: a private data cache and the shared datasets, when present."""

import os
import pathlib

import keras
import pytest

SHARED_DATASETS = pathlib.Path(__file__).resolve().parents[2] / "shared" / "datasets"


def pytest_configure(config):
    if "slow" not in (config.option.markexpr or ""):
        config.option.markexpr = " and ".join(
            filter(None, [config.option.markexpr, "not slow"])
        )


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    os.environ["TFROBUST_CACHE_DIR"] = str(tmp_path_factory.mktemp("tfrobust-cache"))


@pytest.fixture
def shared_datasets():
    """The full MNIST / CIFAR-10 (JPEG) set beside the checkout, or skip."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"no shared datasets at {SHARED_DATASETS}")
    return SHARED_DATASETS


@pytest.fixture
def backend():
    return keras.backend.backend()
