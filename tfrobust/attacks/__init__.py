"""Adversarial attacks: `attack(model, x, y) -> x_adv`, images in [0, 1].

- `FGSM(eps)`: one signed-gradient step.
- `PGD(eps, step_size, steps, norm, restarts, loss, random_start, targeted)`:
  losses "ce", "cw", "dlr"; with `targeted=True`, `y` holds target classes.
- `APGD(eps, norm, steps=100, restarts, loss="ce" | "dlr", large_eps)`: AutoAttack's
  APGD-CE / APGD-DLR (`targeted=True` again means `y` holds targets); at
  `norm="l1"` the sparse L1 step, with `large_eps` the reference's 3/2/1 x eps schedule.
- `APGDT(eps, norm, steps=100, n_target_classes=9)`: AutoAttack's APGD-T;
  `y` holds true labels and the targets are the top other clean classes.
- `JointLossPGD(eps, step_size, steps, beta)`: PGD on the joint loss, the
  final loss plus beta/|I| times the auxiliary heads' (CIFS's probes, FSR's and
  CAS's heads): those layers' adaptive attack.
- `EOTPGD(eps, step_size, steps, samples=20)`: PGD on the loss averaged over
  random draws of a model that is random at inference (EOT).
- `RandomTargetPGD(eps, step_size, steps, prob_start_from_clean)`: targeted PGD
  towards a uniformly random wrong class (feature denoising, Xie et al. 2019);
  `y` holds true labels, the targets are drawn per call.

Every attack also exposes `perturb(forward, x, y)`, a pure function that traces
inside a compiled training step.

- `Square(eps, n_queries=5000, p_init=0.8)`: score-based random search (L-inf, L2
  or L1); `Square.run(model, x, y)` also returns the queries spent per image.
- `FAB(eps, steps=100, restarts=1)`: untargeted FAB, the closest boundary over
  all classes (AutoAttack's `plus`); `FABT(eps, steps=100, n_target_classes=9)`:
  AutoAttack's FAB-T. Both L-inf, L2 or L1.
- `Ensemble([attacks])`: worst case; `.run(model, x, y) -> (x_adv, report)`.
- `AutoAttack(eps, norm, version="standard", seed)`: APGD-CE, APGD-T, FAB-T,
  Square on the still-robust points, the model re-queried on every example
  (the reference's L1 settings at `norm="l1"`); `version="plus"`: APGD-CE,
  APGD-DLR, FAB, Square, APGD-T, FAB-T with more restarts; `version="rand"`:
  APGD-CE and APGD-DLR with EOT, for randomised models.

Norms: "linf", "l2" and, for APGD, APGD-T, FAB, FAB-T, Square and AutoAttack,
"l1"; the others refuse "l1".
"""

from tfrobust.attacks.apgd import APGD
from tfrobust.attacks.apgd import APGDT
from tfrobust.attacks.autoattack import AutoAttack
from tfrobust.attacks.base import Attack
from tfrobust.attacks.ensemble import Ensemble
from tfrobust.attacks.eot import EOTPGD
from tfrobust.attacks.fab import FAB
from tfrobust.attacks.fab import FABT
from tfrobust.attacks.fgsm import FGSM
from tfrobust.attacks.joint_loss import JointLossPGD
from tfrobust.attacks.pgd import PGD
from tfrobust.attacks.protocol import PerturbationBudgetError
from tfrobust.attacks.random_target import RandomTargetPGD
from tfrobust.attacks.square import Square

__all__ = ["APGD", "APGDT", "Attack", "EOTPGD", "FGSM", "JointLossPGD", "PGD", "RandomTargetPGD"]
__all__ += ["AutoAttack", "Ensemble", "FAB", "FABT", "PerturbationBudgetError", "Square"]
