"""Settings shared by the tests (`tests/`) and the docstring examples (`tfrobust/`, run by
`make test` with `--doctest-modules`): a private cache, so that neither writes to the user's."""

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    os.environ["TFROBUST_CACHE_DIR"] = str(tmp_path_factory.mktemp("tfrobust-cache"))
