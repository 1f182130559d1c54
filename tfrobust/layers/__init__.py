"""Defense layers (FSR, feature denoising, CIFS, CAS, guided dropout) for any architecture.

`tfrobust.architectures.fsr_insert` and its siblings place them in a model;
their losses read the batch labels from `tfrobust.labels`.
"""

from tfrobust.layers.auxiliary_logits import auxiliary_logits_scope
from tfrobust.layers.cas import CAS
from tfrobust.layers.cifs import CIFS
from tfrobust.layers.denoising import DenoisingBlock
from tfrobust.layers.fsr import FSR
from tfrobust.layers.guided_dropout import GuidedDropout
from tfrobust.layers.guided_dropout import with_guided_dropout

__all__ = [
    "CAS",
    "CIFS",
    "DenoisingBlock",
    "FSR",
    "GuidedDropout",
    "auxiliary_logits_scope",
    "with_guided_dropout",
]
