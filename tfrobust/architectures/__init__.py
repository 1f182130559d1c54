"""Image classifiers as serialisable Keras functional models.

Every model takes [0, 1] pixels (normalisation is its `"normalize"` layer),
returns logits from a `Dense` named `"classifier"`, tags its stages with
`Identity` layers (`stage_names(name)`, the last being `"features"`), and
accepts `insert={stage: factory}` to place a defense layer after any stage
(or, for the CIFAR ResNets and WideResNets, after a block inside one:
`block_names(name)`). `fsr_insert`, `cas_insert`, `cifs_insert` and
`denoising_insert` build that dict for the defense layers of `tfrobust.layers`.

Example:
    >>> from tfrobust import architectures
    >>> model = architectures.get("resnet20", num_classes=10, width=0.25)
    >>> architectures.stage_names("resnet20")
    ('stem', 'stage1', 'stage2', 'stage3', 'features')
"""

from tfrobust.architectures.defenses import cas_insert
from tfrobust.architectures.defenses import cifs_insert
from tfrobust.architectures.defenses import denoising_insert
from tfrobust.architectures.defenses import fsr_insert
from tfrobust.architectures.insertion import Stages
from tfrobust.architectures.normalization import Normalize
from tfrobust.architectures.registry import block_names
from tfrobust.architectures.registry import get
from tfrobust.architectures.registry import insertion_points
from tfrobust.architectures.registry import list_names
from tfrobust.architectures.registry import stage_names
from tfrobust.architectures.shortcut import ZeroPadShortcut

__all__ = [
    "Normalize",
    "Stages",
    "ZeroPadShortcut",
    "block_names",
    "cas_insert",
    "cifs_insert",
    "denoising_insert",
    "fsr_insert",
    "get",
    "insertion_points",
    "list_names",
    "stage_names",
]
