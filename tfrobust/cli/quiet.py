"""Silence TensorFlow's start-up noise before anything imports it.

TensorFlow 2.21 writes its oneDNN notice, "Could not find cuda drivers" and
the `cuInit` error through C++ logging before `TF_CPP_MIN_LOG_LEVEL` is
read, so the only way to keep them off a user's terminal is to point file
descriptor 2 elsewhere while TensorFlow loads and looks for devices. What it
wrote is replayed if the import fails, so a broken install is still reported.
"""

import contextlib
import logging
import os
import sys
import tempfile
import warnings

from tfrobust import installed


@contextlib.contextmanager
def _stderr_captured():
    """Send fd 2 to a temporary file; replay it on an error."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            capture.seek(0)
            sys.stderr.write(capture.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def silence_tensorflow():
    """Import TensorFlow and find its devices with its C++ and Python logs hushed
    (nothing to hush on a JAX install without it)."""
    if not installed.tensorflow_installed():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _stderr_captured():
        import tensorflow as tf

        tf.config.list_physical_devices()  # the cuInit error is written here
    tf.get_logger().setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="keras")
    warnings.filterwarnings("ignore", module="tensorflow")
