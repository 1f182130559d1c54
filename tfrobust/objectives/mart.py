"""MART (Wang et al. 2020): misclassification-aware adversarial training."""

from keras import ops

from tfrobust.argument_validation import check_number
from tfrobust.objectives.base import Objective
from tfrobust.objectives.functional import cross_entropy
from tfrobust.objectives.functional import kl_divergence
from tfrobust.objectives.functional import true_class_probability


class MART(Objective):
    """BCE(p(x_adv), y) + beta * KL(p(x) || p(x_adv)) * (1 - p_y(x)).

    BCE is the boosted cross-entropy CE(x_adv) - log(1 - max_{k != y} p_k(x_adv)),
    which also pushes down the strongest wrong class. The KL term is weighted by
    how badly the clean image is classified, so misclassified examples count more.

    Args:
        beta: weight of the KL term; 6.0 as the authors' WRN-34-10 script on
            CIFAR-10 (their ResNet-18 script uses 5.0, with lr 0.01).

    Reference:
        Wang et al., "Improving Adversarial Robustness Requires Revisiting
        Misclassified Examples", ICLR 2020.
    """

    terms = ("bce_adv", "mart_kl")
    needs_clean = True

    def __init__(self, beta=6.0):
        self.beta = check_number("beta", beta, minimum=0)

    def __call__(self, y, clean_logits, adversarial_logits):
        p_adv = ops.softmax(adversarial_logits, axis=-1)
        true = ops.one_hot(y, ops.shape(p_adv)[-1], dtype=p_adv.dtype)
        strongest_wrong = ops.max(p_adv - 2.0 * true, axis=-1)  # true class pushed below 0
        bce = cross_entropy(adversarial_logits, y) - ops.log(1.0001 - strongest_wrong)
        p_clean = ops.softmax(clean_logits, axis=-1)
        weight = 1.0000001 - true_class_probability(clean_logits, y)
        kl = kl_divergence(p_clean, adversarial_logits) * weight
        return [ops.mean(bce), self.beta * ops.mean(kl)]

    def get_config(self):
        return {"beta": self.beta}
