"""Whether optional libraries are installed, checked without importing them.

Checked without an import because `cli.quiet` must silence TensorFlow before
anything loads it, Keras included.
"""

import importlib.util


def tensorflow_installed():
    """Whether TensorFlow can be imported: JAX images of GPU clouds often lack it, and
    a run there draws its batches in NumPy and logs its epochs to a CSV file."""
    return importlib.util.find_spec("tensorflow") is not None
