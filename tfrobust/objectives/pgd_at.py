"""PGD adversarial training (Madry et al. 2018), and fast AT with FGSM-RS."""

from keras import ops

from tfrobust.objectives.base import Objective
from tfrobust.objectives.functional import cross_entropy


class PGDAT(Objective):
    """CE(f(x_adv), y) on adversarial examples only.

    With `attacks.PGD` this is Madry et al.'s PGD-AT; with
    `attacks.FGSM(eps, random_start=True, step_size=1.25 * eps)` it is the fast
    adversarial training of Wong et al. (2020). Only the adversarial batch goes
    through the model in training mode, so BatchNorm statistics are those of
    adversarial images, as in both reference implementations.

    Reference:
        Madry et al., "Towards Deep Learning Models Resistant to Adversarial
        Attacks", ICLR 2018.
    """

    terms = ("ce_adv",)

    def __call__(self, y, clean_logits, adversarial_logits):
        return [ops.mean(cross_entropy(adversarial_logits, y))]
