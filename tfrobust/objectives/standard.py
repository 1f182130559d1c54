"""Standard (non-adversarial) training: cross-entropy on clean images."""

from keras import ops

from tfrobust.objectives.base import Objective
from tfrobust.objectives.functional import cross_entropy


class Standard(Objective):
    """CE(f(x), y): the baseline every defense is compared with."""

    terms = ("ce",)
    needs_clean = True
    needs_adversarial = False

    def __call__(self, y, clean_logits, adversarial_logits):
        return [ops.mean(cross_entropy(clean_logits, y))]
