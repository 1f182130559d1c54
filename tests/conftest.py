"""Test-wide settings: the shared datasets when present, a local server (the private
cache is the repository's `conftest.py`, shared with the doctests)."""

import contextlib
import functools
import http.server
import pathlib
import threading

import keras
import pytest

SHARED_DATASETS = pathlib.Path(__file__).resolve().parents[2] / "shared" / "datasets"


def pytest_configure(config):
    if "slow" not in (config.option.markexpr or ""):
        config.option.markexpr = " and ".join(filter(None, [config.option.markexpr, "not slow"]))


@pytest.fixture
def shared_datasets():
    """The full MNIST / CIFAR-10 (JPEG) set beside the checkout, or skip."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"no shared datasets at {SHARED_DATASETS}")
    return SHARED_DATASETS


@pytest.fixture
def backend():
    return keras.backend.backend()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def _serve(directory=".", handler=QuietHandler):
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(directory))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def local_server():
    """`with local_server(directory, handler=...) as url:` serves on 127.0.0.1, a free port."""
    return _serve
