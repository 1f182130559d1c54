"""Datasets as `tf.data` pipelines or NumPy arrays, offline first.

    >>> ds = tfrobust.data.load("cifar10", "train", batch_size=128, augment=True)  # doctest: +SKIP
    >>> x, y = tfrobust.data.load_numpy("mnist", "test", data_dir=SAMPLE_DIR)  # doctest: +SKIP
"""

import pathlib

from tfrobust.data.errors import ChecksumError
from tfrobust.data.errors import DatasetNotFoundError
from tfrobust.data.load import load
from tfrobust.data.load import load_numpy
from tfrobust.data.load import load_uint8
from tfrobust.data.registry import get_spec
from tfrobust.data.registry import list_datasets

SAMPLE_DIR = pathlib.Path(__file__).parent / "sample"
"""A small sample of MNIST and CIFAR-10 (JPEG) shipped with the package."""

__all__ = ["ChecksumError", "DatasetNotFoundError", "SAMPLE_DIR", "get_spec",
           "list_datasets", "load", "load_numpy", "load_uint8"]
