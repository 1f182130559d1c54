"""One name per architecture, timm-style: `get(name, ...)` builds it.

Entries are plain data (builder, stage names, block points, defaults,
description) in `ARCHITECTURES`, so `list_names()`, `stage_names(name)` and
`block_names(name)` answer without building anything.
"""

import dataclasses

from tfrobust.architectures import lenet
from tfrobust.architectures import mnist_cnn
from tfrobust.architectures import preact_resnet
from tfrobust.architectures import resnet9
from tfrobust.architectures import resnet_cifar
from tfrobust.architectures import resnet_imagenet
from tfrobust.architectures import resnet_small
from tfrobust.architectures import vgg
from tfrobust.architectures import wide_resnet
from tfrobust.registry import Registry


@dataclasses.dataclass(frozen=True)
class Entry:
    """A registered architecture: how to build it and what it defaults to."""

    builder: object
    stages: tuple
    input_shape: tuple
    num_classes: int
    description: str
    blocks: tuple = ()  # block points inside stages (see insertion.py), if offered


_MNIST, _CIFAR, _IMAGENET = (28, 28, 1), (32, 32, 3), (224, 224, 3)

# name, module (whose function `name` builds it), input shape, classes, description, blocks
_TABLE = (
    ("lenet", lenet, _MNIST, 10, "LeNet-5 (ReLU), the AALP MNIST model", ()),
    ("mnist_cnn", mnist_cnn, _MNIST, 10, "Madry et al. MNIST CNN", ()),
    ("resnet9", resnet9, _CIFAR, 10, "DAWNBench ResNet-9 (AALP SVHN)", ()),
    ("resnet18", resnet_cifar, _CIFAR, 10, "CIFAR ResNet-18", resnet_cifar.block_names("resnet18")),
    ("resnet34", resnet_cifar, _CIFAR, 10, "CIFAR ResNet-34", resnet_cifar.block_names("resnet34")),
    ("preact_resnet18", preact_resnet, _CIFAR, 10, "CIFAR PreAct ResNet-18", ()),
    ("resnet20", resnet_small, _CIFAR, 10, "He et al. CIFAR ResNet-20 (option-A shortcuts)", ()),
    ("resnet32", resnet_small, _CIFAR, 10, "He et al. CIFAR ResNet-32 (option-A shortcuts)", ()),
    ("resnet56", resnet_small, _CIFAR, 10, "He et al. CIFAR ResNet-56 (option-A shortcuts)", ()),
    ("vgg16", vgg, _CIFAR, 10, "CIFAR VGG-16 with BN", ()),
    ("wrn28_10", wide_resnet, _CIFAR, 10, "WideResNet-28-10", wide_resnet.block_names(28)),
    ("wrn34_10", wide_resnet, _CIFAR, 10, "WideResNet-34-10", wide_resnet.block_names(34)),
    ("resnet50", resnet_imagenet, _IMAGENET, 1000, "ImageNet ResNet-50", ()),
    ("resnet101", resnet_imagenet, _IMAGENET, 1000, "ImageNet ResNet-101", ()),
    ("resnet152", resnet_imagenet, _IMAGENET, 1000, "ImageNet ResNet-152", ()),
)

ARCHITECTURES = Registry("architecture")
for _name, _module, _shape, _classes, _description, _blocks in _TABLE:
    ARCHITECTURES.register(
        _name,
        Entry(getattr(_module, _name), _module.STAGES, _shape, _classes, _description, _blocks),
    )


def list_names():
    """Sorted names accepted by `get`."""
    return ARCHITECTURES.list()


def stage_names(name):
    """The stages of architecture `name` (each tagged by an `Identity`), ending in "features"."""
    return ARCHITECTURES.get(name).stages


def block_names(name):
    """The block points inside the stages of `name` (`"stage4_block1"`, ...); may be empty."""
    return ARCHITECTURES.get(name).blocks


def insertion_points(name):
    """Every key `get(name, insert=...)` accepts: the stages, then the block points."""
    spec = ARCHITECTURES.get(name)
    return spec.stages + spec.blocks


def get(name, num_classes=None, input_shape=None, width=1.0, insert=None, mean=None, std=None):
    """Build architecture `name` as a functional Keras model returning logits.

    Args:
        name: one of `list_names()`.
        num_classes: number of classes (default 10, 1000 for ImageNet ResNets).
        input_shape: `(height, width, channels)` of [0, 1] images (default
            28x28x1 for MNIST nets, 32x32x3 for CIFAR nets, 224x224x3 for
            ImageNet ResNets).
        width: channel multiplier; 1.0 is the published network.
        insert: `{point: factory}` with `factory(name, channels) -> Layer`
            applied after that point: a stage (`stage_names(name)`) or a block
            point inside one (`block_names(name)`).
        mean, std: per-channel normalisation inside the model; both `None`
            gives MNIST statistics for 1 channel, CIFAR-10 statistics for 3
            (ImageNet statistics for the ImageNet ResNets).

    Example:
        >>> model = get("resnet20", width=0.25)
        >>> model.get_layer("features").output.shape
        (None, 16)
    """
    spec = ARCHITECTURES.get(name)
    return spec.builder(
        num_classes=spec.num_classes if num_classes is None else num_classes,
        input_shape=spec.input_shape if input_shape is None else input_shape,
        width=width,
        insert=insert,
        mean=mean,
        std=std,
    )
