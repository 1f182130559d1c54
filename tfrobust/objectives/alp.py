"""Adversarial Logit Pairing (Kannan et al. 2018) and its adaptive variant (AALP)."""

from keras import ops

from tfrobust.argument_validation import check_number
from tfrobust.objectives.base import Objective
from tfrobust.objectives.functional import cross_entropy
from tfrobust.objectives.functional import squared_distance
from tfrobust.objectives.functional import true_class_probability


class ALP(Objective):
    """(CE(x) + CE(x_adv)) / 2 + weight * ||f(x) - f(x_adv)||^2.

    Args:
        weight: weight of the logit-pairing term (lambda; 0.5 in the paper).

    Reference:
        Kannan et al., "Adversarial Logit Pairing", arXiv:1803.06373, 2018.
    """

    terms = ("ce_clean", "ce_adv", "alp")
    needs_clean = True

    def __init__(self, weight=0.5):
        self.weight = check_number("weight", weight, minimum=0)

    def pair_weights(self, y, clean_logits):
        """Per-example weights of the pairing term: 1 for ALP."""
        return ops.ones_like(clean_logits[:, 0])

    def __call__(self, y, clean_logits, adversarial_logits):
        pairing = squared_distance(clean_logits, adversarial_logits)
        pairing = pairing * self.pair_weights(y, clean_logits)
        return [
            0.5 * ops.mean(cross_entropy(clean_logits, y)),
            0.5 * ops.mean(cross_entropy(adversarial_logits, y)),
            self.weight * ops.mean(pairing),
        ]

    def get_config(self):
        return {"weight": self.weight}


class AALP(ALP):
    """ALP whose pairing term is weighted per example by p_y(x), the clean confidence.

    Examples the model already gets wrong (low p_y) are paired less, so the
    pairing term stops fighting their classification loss. The weight is held
    fixed (no gradient), as a sample weight. Combine with
    `layers.GuidedDropout` on the penultimate features for the full method.

    Args:
        alpha: weight of the adaptive pairing term; 1.0 in the paper.

    Reference:
        "Adaptive Adversarial Logits Pairing", 2020 (`shared/papers/aalp_*`).
    """

    terms = ("ce_clean", "ce_adv", "aalp")

    def __init__(self, alpha=1.0):
        super().__init__(weight=alpha)
        self.alpha = self.weight

    def pair_weights(self, y, clean_logits):
        return ops.stop_gradient(true_class_probability(clean_logits, y))

    def get_config(self):
        return {"alpha": self.alpha}
