"""What an adversarial-training objective is.

An objective turns clean and adversarial logits into named loss terms; the
training loss is their sum (plus any `add_loss` terms of defense layers, which
`AdversarialModel` adds to every objective). It also says which logits it
needs, and, when its inner maximisation differs from the attack's own loss
(TRADES, for example), which loss the training attack should maximise.
"""


class Objective:
    """Base class.

    Attributes:
        terms: names of the loss terms `__call__` returns, in order; each is
            logged during training.
        needs_clean: whether the loss uses a training-mode pass on clean images.
        needs_adversarial: whether the loss uses adversarial examples (then
            `AdversarialModel` requires an attack).
    """

    terms = ()
    needs_clean = False
    needs_adversarial = True

    def attack_loss(self):
        """A per-example `loss(logits, target)` for the training attack, or `None`."""
        return None

    def attack_target(self, y, clean_logits):
        """What the training attack receives in place of labels."""
        del clean_logits
        return y

    def __call__(self, y, clean_logits, adversarial_logits):
        """The loss terms (scalars), in the order of `terms`."""
        raise NotImplementedError

    def get_config(self):
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
