"""The datasets tfrobust knows: shape, classes, local formats and tfds name.

Add a dataset by registering a `DatasetSpec` in `DATASETS` here; `load` does the rest.
"""

import dataclasses

from tfrobust.data.formats import CifarBatches
from tfrobust.data.formats import Idx
from tfrobust.data.formats import ImageFolder
from tfrobust.data.formats import SvhnMat
from tfrobust.registry import Registry

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What `load` needs to know about a dataset.

    Attributes:
        name: the name users pass to `load`.
        image_shape: `(height, width, channels)` of every image.
        num_classes: number of labels.
        local: formats tried, in order, under a data directory.
        tfds_name: the tensorflow-datasets name, or `None` if tfds has none.
        class_names: label names where they are fixed.
        splits: the splits every source provides.
    """

    name: str
    image_shape: tuple
    num_classes: int
    local: tuple
    tfds_name: str = None
    class_names: tuple = None
    splits: tuple = ("train", "test")


DATASETS = Registry("dataset")
for _spec in [
    DatasetSpec("mnist", (28, 28, 1), 10, (Idx("mnist"),), "mnist"),
    DatasetSpec("fashion_mnist", (28, 28, 1), 10, (Idx("fashion_mnist"),), "fashion_mnist"),
    DatasetSpec(
        "cifar10",
        (32, 32, 3),
        10,
        (
            ImageFolder("cifar10-jpeg", CIFAR10_CLASSES, (32, 32), report_as="CIFAR-10 (JPEG)"),
            CifarBatches(
                "cifar-10-batches-py",
                {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]},
                b"labels",
            ),
        ),
        "cifar10",
        CIFAR10_CLASSES,
    ),
    DatasetSpec(
        "cifar100",
        (32, 32, 3),
        100,
        (
            CifarBatches(
                "cifar-100-python", {"train": ["train"], "test": ["test"]}, b"fine_labels"
            ),
            ImageFolder("cifar100", image_size=(32, 32)),
        ),
        "cifar100",
    ),
    DatasetSpec("svhn", (32, 32, 3), 10, (SvhnMat("svhn"),), "svhn_cropped"),
    DatasetSpec(
        "tiny_imagenet",
        (64, 64, 3),
        200,
        (ImageFolder("tiny_imagenet", image_size=(64, 64), split_aliases={"test": ("val",)}),),
    ),
    DatasetSpec(
        "oxford_flowers17",
        (224, 224, 3),
        17,
        (ImageFolder("oxford_flowers17", image_size=(224, 224)),),
    ),
    DatasetSpec(
        "imagenet2012",
        (224, 224, 3),
        1000,
        (ImageFolder("imagenet2012", image_size=(224, 224), split_aliases={"test": ("val",)}),),
        "imagenet2012",
    ),
]:
    DATASETS.register(_spec.name, _spec)


def get_spec(name):
    """The spec of `name`; an unknown name lists the valid ones."""
    return DATASETS.get(name)


def list_datasets():
    """Sorted names accepted by `load`."""
    return DATASETS.list()
