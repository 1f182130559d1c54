"""`get` / `list_names` / `stage_names`: names, defaults, early errors."""

import keras
import numpy as np
import pytest

from tfrobust import architectures
from tfrobust.architectures.normalization import STATS

EXPECTED = [
    "lenet",
    "mnist_cnn",
    "preact_resnet18",
    "resnet101",
    "resnet152",
    "resnet18",
    "resnet20",
    "resnet32",
    "resnet34",
    "resnet50",
    "resnet56",
    "resnet9",
    "vgg16",
    "wrn28_10",
    "wrn34_10",
]


@pytest.fixture(autouse=True)
def _fresh_session():
    yield
    keras.backend.clear_session()


def test_list_names():
    assert architectures.list_names() == EXPECTED


def test_unknown_name_lists_valid_names():
    match = r"\(did you mean 'resnet18'\?\). Valid names: lenet, .*Received: name='resnet-18'"
    with pytest.raises(ValueError, match=match):
        architectures.get("resnet-18")


def test_unknown_insertion_point_lists_stage_names():
    match = r"its stages are \['stem', 'stage1', 'stage2', 'stage3', 'features'\]"
    with pytest.raises(ValueError, match=match):
        architectures.get("resnet20", insert={"stage4": lambda name, channels: None})


@pytest.mark.parametrize("name", EXPECTED)
def test_stage_names_end_in_features(name):
    stages = architectures.stage_names(name)
    assert stages[-1] == "features" and len(set(stages)) == len(stages)


def test_insert_wants_a_factory():
    with pytest.raises(TypeError, match="factory"):
        architectures.get("lenet", insert={"stage1": keras.layers.Identity()})
    with pytest.raises(TypeError, match="must return a keras Layer"):
        architectures.get("lenet", insert={"stage1": lambda name, channels: None})


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(num_classes=0),
        dict(num_classes=2.0),
        dict(input_shape=(28, 28)),
        dict(input_shape=(28, 0, 1)),
        dict(width=0),
        dict(width=float("nan")),
        dict(mean=0.5),
        dict(mean=[0.1, 0.2], std=[1.0, 1.0]),
        dict(mean=0.0, std=-1.0),
        dict(input_shape=(28, 28, 4)),
    ],
)
def test_bad_arguments_are_rejected_early(kwargs):
    with pytest.raises(ValueError, match="Received"):
        architectures.get("lenet", **kwargs)


@pytest.mark.parametrize(
    "name, kwargs, stats",
    [
        ("lenet", {}, "mnist"),
        ("resnet20", dict(width=0.5), "cifar10"),
        ("resnet50", dict(width=0.125, input_shape=(32, 32, 3)), "imagenet"),
    ],
)
def test_default_normalisation(name, kwargs, stats):
    layer = architectures.get(name, **kwargs).get_layer("normalize")
    mean, std = STATS[stats]
    assert (layer.mean, layer.std) == (list(mean), list(std))


def test_explicit_normalisation_broadcasts_scalars():
    model = architectures.get("lenet", input_shape=(28, 28, 4), mean=0, std=1)
    layer = model.get_layer("normalize")
    assert (layer.mean, layer.std) == ([0.0] * 4, [1.0] * 4)


def test_width_scales_channels():
    model = architectures.get("resnet18", width=0.5)
    assert model.get_layer("stage4").output.shape[-1] == 256
    assert model.get_layer("features").output.shape[-1] == 256


def test_numpy_integers_are_accepted():
    shape = tuple(np.array([28, 28, 1]))
    model = architectures.get("lenet", num_classes=np.int64(3), input_shape=shape)
    assert model.output.shape[-1] == 3
