"""Readers for the standard on-disk formats that datasets are distributed in.

Each format knows which files make up a split under a data folder (`files`),
how to describe them when they are missing (`describe`) and how to decode them
into uint8 NHWC images and integer labels (`read`), and in which order
(`order`: `"canonical"` when the files keep the dataset's own order, otherwise
the name of the fixed, seeded order `read` returns; see `image_folder.py`).
"""

from tfrobust.data.formats.cifar_batches import CifarBatches
from tfrobust.data.formats.idx import Idx
from tfrobust.data.formats.image_folder import ImageFolder
from tfrobust.data.formats.svhn_mat import SvhnMat

__all__ = ["CifarBatches", "Idx", "ImageFolder", "SvhnMat"]
