"""Datasets as `tf.data` pipelines or NumPy arrays, offline first.

>>> from tfrobust import data
>>> x, y = data.load_numpy("mnist", "test", data_dir=data.SAMPLE_DIR)
>>> x.shape, x.dtype, y[:5]
((500, 28, 28, 1), dtype('float32'), array([7, 2, 1, 0, 4]))
>>> ds = data.load("cifar10", "train", batch_size=128, augment=True,
...                data_dir=data.SAMPLE_DIR)  # without data_dir: the full dataset
>>> ds.element_spec[0].shape
TensorShape([None, 32, 32, 3])
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

__all__ = [
    "ChecksumError",
    "DatasetNotFoundError",
    "SAMPLE_DIR",
    "get_spec",
    "list_datasets",
    "load",
    "load_numpy",
    "load_uint8",
]
