"""A linear warm-up of the training attack's budget.

Small networks trained from scratch against the full budget can collapse to
a constant prediction (LeNet on MNIST at eps 0.3 does within an epoch on our
CPU budget): the attack wins before the network has learnt any features. A
budget that grows linearly over the first epochs, as in Gowal et al. 2018
(IBP) and the "bag of tricks" of Pang et al. 2021, avoids it.
"""

import keras

from tfrobust.argument_validation import check_int


class EpsilonWarmup(keras.callbacks.Callback):
    """Epoch `t` (from 0) trains against `min(1, (t + 1) / epochs)` of the budget.

    The step size scales with the budget. Validation in those epochs uses the
    same scaled attack. A resumed run (`training.backup`) gets the budget of
    the epoch it resumes at.

    Args:
        epochs: int >= 1, epochs until the full budget.
    """

    def __init__(self, epochs):
        super().__init__()
        self.epochs = check_int("epochs", epochs)
        self._fraction = None

    def on_train_begin(self, logs=None):
        if getattr(self.model, "attack", None) is None:
            raise ValueError(
                "EpsilonWarmup needs a model trained against an attack "
                "(`tfrobust.adversarial(model, objective, attack)`). "
                f"Received: {type(self.model).__name__} without one"
            )

    def on_epoch_begin(self, epoch, logs=None):
        fraction = min(1.0, (epoch + 1) / self.epochs)
        if fraction != self._fraction:
            self.model.scale_attack_budget(fraction)
            self._fraction = fraction
