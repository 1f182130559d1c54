"""Defense layers (FSR, feature denoising, CIFS, CAS, guided dropout) for any architecture."""

from tfrobust.layers.auxiliary_logits import auxiliary_logits_scope
from tfrobust.layers.cas import CAS
from tfrobust.layers.cas import cas_insert
from tfrobust.layers.cifs import CIFS
from tfrobust.layers.cifs import cifs_insert
from tfrobust.layers.denoising import DenoisingBlock
from tfrobust.layers.denoising import denoising_insert
from tfrobust.layers.fsr import FSR
from tfrobust.layers.fsr import fsr_insert
from tfrobust.layers.guided_dropout import GuidedDropout
from tfrobust.layers.guided_dropout import with_guided_dropout
from tfrobust.layers.labels import current_labels
from tfrobust.layers.labels import label_scope

__all__ = ["CAS", "CIFS", "DenoisingBlock", "FSR", "GuidedDropout", "auxiliary_logits_scope",
           "cas_insert",
           "cifs_insert", "current_labels", "denoising_insert", "fsr_insert", "label_scope",
           "with_guided_dropout"]
