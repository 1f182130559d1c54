"""TRADES (Zhang et al. 2019): accuracy plus a KL boundary term."""

from keras import ops

from tfrobust.argument_validation import check_number
from tfrobust.objectives.base import Objective
from tfrobust.objectives.functional import cross_entropy
from tfrobust.objectives.functional import kl_divergence


class TRADES(Objective):
    """CE(f(x), y) + beta * KL(p(x) || p(x_adv)).

    The training attack maximises the same KL term, with p(x) computed in
    inference mode and held fixed, as in the reference implementation
    (yaodongyu/TRADES, `trades.py`). Attacks call their loss as
    `loss(logits, target)`; `attack_loss()` returns `inner_loss`, which takes
    its arguments in that order.

    Args:
        beta: weight of the boundary term; 6.0 is the paper's CIFAR-10 value.

    Reference:
        Zhang et al., "Theoretically Principled Trade-off between Robustness and
        Accuracy", ICML 2019.
    """

    terms = ("ce", "trades_kl")
    needs_clean = True

    def __init__(self, beta=6.0):
        self.beta = check_number("beta", beta, minimum=0)

    def attack_loss(self):
        return inner_loss

    def attack_target(self, y, clean_logits):
        return ops.stop_gradient(ops.softmax(clean_logits, axis=-1))

    def __call__(self, y, clean_logits, adversarial_logits):
        p_clean = ops.softmax(clean_logits, axis=-1)
        return [
            ops.mean(cross_entropy(clean_logits, y)),
            self.beta * ops.mean(kl_divergence(p_clean, adversarial_logits)),
        ]

    def get_config(self):
        return {"beta": self.beta}


def inner_loss(logits, p_clean):
    """KL(p_clean || softmax(logits)) per example, as an attack's `loss(logits, target)`."""
    return kl_divergence(p_clean, logits)
