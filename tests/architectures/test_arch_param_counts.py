"""Parameter counts at width 1 against the reference implementations.

Counts are trainable parameters, i.e. PyTorch's `sum(p.numel())`: BN moving
statistics are buffers there and non-trainable weights here. Build only, no
forward pass. TensorFlow only (building is backend-independent).
"""

import keras
import numpy as np
import pytest

from tfrobust import architectures

# name: (reference count, where it comes from)
REFERENCE = {
    "lenet": (61_706, "LeNet-5, 28x28 input, first conv 'same'"),
    "mnist_cnn": (3_274_634, "MadryLab mnist_challenge model.py"),
    "resnet9": (6_573_130, "Page's DAWNBench ResNet-9 (+10 classifier bias)"),
    "resnet18": (11_173_962, "kuangliu/pytorch-cifar ResNet18"),
    "resnet34": (21_282_122, "kuangliu/pytorch-cifar ResNet34"),
    "preact_resnet18": (11_172_170, "locuslab robust_overfitting PreActResNet18"),
    "resnet20": (269_722, "He et al. 2016 Table 6 (0.27M), option A"),
    "resnet32": (464_154, "He et al. 2016 Table 6 (0.46M), option A"),
    "resnet56": (853_018, "He et al. 2016 Table 6 (0.85M), option A"),
    "vgg16": (14_728_266, "kuangliu/pytorch-cifar VGG('VGG16')"),
    "wrn28_10": (36_479_194, "WideResNet-28-10, TRADES/RobustBench"),
    "wrn34_10": (46_160_474, "WideResNet-34-10, TRADES/RobustBench"),
    "resnet50": (25_557_032, "torchvision resnet50"),
    "resnet101": (44_549_160, "torchvision resnet101"),
    "resnet152": (60_192_808, "torchvision resnet152"),
}


def test_every_registered_network_has_a_reference_count():
    assert sorted(REFERENCE) == architectures.list_names()


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_param_count_matches_reference(name):
    expected, source = REFERENCE[name]
    model = architectures.get(name)
    count = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    keras.backend.clear_session()
    assert count == pytest.approx(expected, rel=0.005), f"{name}: {count} vs {expected} ({source})"
