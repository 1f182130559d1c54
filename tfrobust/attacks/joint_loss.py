"""PGD on the joint loss of the output and every auxiliary head: defenses' adaptive attack.

Defense layers with heads of their own (CIFS's probes, FSR's and CAS's
auxiliary heads) make `|I|` predictions `p^l` besides the final one `p`, and
the model's features depend on them. The CIFS paper trains against, and
evaluates with, attacks on the joint loss

    L(x, y) = loss(p, y) + beta / |I| * sum_{l in I} loss(p^l, y),

as its reference code does (HanshuYAN/CIFS, `CIFAR10_Res18_CIFS_test.py`,
`joint_CE_loss.get_joint_loss` and `joint_CW_loss`, run with `beta_atk = 2`;
the training attack in `CIFAR10_Res18_CIFS.py` uses the same loss with
`beta = 2`). The same loss over FSR's and CAS's heads is their adaptive attack
(Tramer et al. 2020): a head that blocks the output's gradient (CAS's argmax,
a saturated mask) does not block its own. Each term is a per-example loss from
`tfrobust.attacks.losses` ("ce" or "cw"), summed over the batch as every attack
here does (the reference averages; a positive factor changes no step). The
heads' logits are read from the forward pass itself
(`tfrobust.layers.auxiliary_logits_scope`), so the attack needs nothing but the
model: it runs behind `attack(model, x, y)`, compiled on TensorFlow and JAX,
and inside a compiled training step (`perturb(forward, x, y)`, e.g. as the
training attack of `tfrobust.adversarial(model, objectives.PGDAT(),
JointLossPGD(...))`, as CIFS's reference trains). Without such layers, or with
`beta = 0`, it is `PGD` with the same arguments.
"""

from tfrobust.argument_validation import check_choice
from tfrobust.argument_validation import check_number
from tfrobust.attacks.pgd import PGD
from tfrobust.layers.auxiliary_logits import auxiliary_logits_scope


class JointLossPGD(PGD):
    """PGD ascending `loss(p) + beta/|I| sum_l loss(p^l)` over a model's auxiliary heads.

    Args:
        eps, step_size, steps, norm, restarts, random_start, seed, unroll: as `PGD`.
        beta: total weight of the heads' losses, each head getting
            `beta / |I|`; CIFS's reference evaluates and trains with 2 (its
            ResNet-18 has `|I| = 2` CIFS probes, so each weighs 1; so do the
            two heads of one FSR layer).
        loss: "ce" (the reference's `joint_CE_loss`) or "cw" (its
            `joint_CW_loss`; ours is the unclamped margin, where the reference
            clamps each head's margin at its confidence 50).

    Example:
        >>> x_adv = JointLossPGD(eps=8 / 255, step_size=0.8 / 255, steps=20,
        ...                      random_start=False)(model, x, y)  # doctest: +SKIP

    Reference:
        Yan et al., "CIFS: Improving Adversarial Robustness of CNNs via
        Channel-wise Importance-based Feature Selection", ICML 2021, Eq. 1-2.
    """

    def __init__(
        self,
        eps=8 / 255,
        step_size=2 / 255,
        steps=20,
        beta=2.0,
        norm="linf",
        restarts=1,
        loss="ce",
        random_start=True,
        seed=None,
        unroll=False,
        **kwargs,
    ):
        check_choice("loss", loss, ("ce", "cw"))
        beta = check_number("beta", beta, minimum=0)
        super().__init__(
            eps,
            step_size=step_size,
            steps=steps,
            norm=norm,
            restarts=restarts,
            loss=loss,
            random_start=random_start,
            targeted=False,
            seed=seed,
            unroll=unroll,
            **kwargs,
        )
        self.beta = beta

    def logits_and_loss(self, forward, z, y):
        """`(final logits, per-example joint loss)` of `forward` at `z`."""
        with auxiliary_logits_scope() as probes:
            logits = forward(z)
        value = self.loss_fn(logits, y)
        if probes and self.beta:
            probe_loss = sum(self.loss_fn(p, y) for p in probes)
            value = value + (self.beta / len(probes)) * probe_loss
        return logits, value

    def with_loss(self, loss_fn):
        """Refused: an objective's own inner loss (TRADES's KL to the clean prediction)
        has no meaning for the probes; train such objectives with `PGD`."""
        raise TypeError(
            "JointLossPGD ascends the CE or C&W loss of the final logits and the CIFS "
            "probes; it cannot take an objective's own attack loss. Use attacks.PGD with "
            f"this objective. Received: loss_fn={loss_fn!r}"
        )

    def get_config(self):
        config = {**super().get_config(), "beta": self.beta}
        config.pop("targeted")
        return config
