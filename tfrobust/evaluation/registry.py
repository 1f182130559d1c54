"""Attacks by name, built for a threat model: `make_attack("square", eps=8/255)`.

Names let an evaluation re-build the same attacks at other budgets (the
accuracy-vs-epsilon curve): step sizes scale with `eps`, where an attack
object's `with_eps` keeps its absolute step. The attack's `name` is the name
it was built under.
A configuration may also give a new name to an attack with other settings,
which is how papers' tables read: `{"pgd100": {"attack": "pgd", "steps": 100},
"ensemble": {"attack": "ensemble", "of": ["fgsm", "pgd", "pgd100", "cw"]}}`.
Each entry of `ATTACKS` is a factory `(eps, norm, seed, name=..., **options)`.
"""

from tfrobust.argument_validation import check_int
from tfrobust.attacks.apgd import APGD
from tfrobust.attacks.apgd import APGDT
from tfrobust.attacks.autoattack import AutoAttack
from tfrobust.attacks.ensemble import Ensemble
from tfrobust.attacks.eot import EOTPGD
from tfrobust.attacks.fab import FAB
from tfrobust.attacks.fab import FABT
from tfrobust.attacks.fgsm import FGSM
from tfrobust.attacks.joint_loss import JointLossPGD
from tfrobust.attacks.pgd import PGD
from tfrobust.attacks.random_target import RandomTargetPGD
from tfrobust.attacks.square import Square
from tfrobust.registry import Registry

ATTACKS = Registry("attack")


def _step_size(eps, step_fraction, default_fraction):
    """`step_fraction * eps` (`default_fraction` when None), kept positive at eps 0."""
    fraction = default_fraction if step_fraction is None else step_fraction
    return max(fraction * eps, 1e-6)


@ATTACKS.register("pgd")
def _pgd(
    eps,
    norm,
    seed,
    steps=20,
    restarts=1,
    step_fraction=None,
    random_start=True,
    loss="ce",
    name=None,
):
    """PGD with step `step_fraction * eps` (default `2.5 * eps / steps`, Madry et al.)."""
    return PGD(
        eps,
        step_size=_step_size(eps, step_fraction, 2.5 / steps),
        steps=steps,
        norm=norm,
        restarts=restarts,
        random_start=random_start,
        loss=loss,
        seed=seed,
        name=name,
    )


@ATTACKS.register("cw")
def _cw(eps, norm, seed, steps=30, **kwargs):
    """ "C&W" in the defense papers' tables: PGD on the Carlini-Wagner margin loss (CW-inf)."""
    return _pgd(eps, norm, seed, steps=steps, loss="cw", **kwargs)


@ATTACKS.register("joint-pgd")
def _joint_pgd(
    eps,
    norm,
    seed,
    steps=20,
    restarts=1,
    step_fraction=None,
    random_start=True,
    loss="ce",
    beta=2.0,
    name=None,
):
    """PGD on the joint loss of the output and the auxiliary heads (CIFS's probes, FSR's and
    CAS's heads; `beta` = 2 as CIFS's reference), step as `_pgd`."""
    return JointLossPGD(
        eps,
        step_size=_step_size(eps, step_fraction, 2.5 / steps),
        steps=steps,
        beta=beta,
        norm=norm,
        restarts=restarts,
        loss=loss,
        random_start=random_start,
        seed=seed,
        name=name,
    )


@ATTACKS.register("eot-pgd")
def _eot_pgd(
    eps,
    norm,
    seed,
    steps=20,
    samples=20,
    restarts=1,
    step_fraction=None,
    random_start=True,
    loss="ce",
    name=None,
):
    """PGD on the loss averaged over `samples` draws of a randomised model, step as `_pgd`."""
    return EOTPGD(
        eps,
        step_size=_step_size(eps, step_fraction, 2.5 / steps),
        steps=steps,
        samples=samples,
        norm=norm,
        restarts=restarts,
        random_start=random_start,
        loss=loss,
        seed=seed,
        name=name,
    )


@ATTACKS.register("pgd-random-target")
def _pgd_random_target(
    eps,
    norm,
    seed,
    steps=10,
    step_fraction=None,
    random_start=True,
    loss="ce",
    num_classes=None,
    name=None,
):
    """Targeted PGD towards a random wrong class (feature denoising), scored on true labels.

    Step `step_fraction * eps`, by default the reference code's
    `max(eps / 16, eps / steps)` (1/255 at eps 16/255, eps/10 for 10 steps);
    a random start unless `random_start=False`, as the reference evaluates.
    """
    check_int("steps", steps)
    return RandomTargetPGD(
        eps,
        step_size=_step_size(eps, step_fraction, max(1 / 16, 1 / steps)),
        steps=steps,
        norm=norm,
        prob_start_from_clean=0.0 if random_start else 1.0,
        loss=loss,
        num_classes=num_classes,
        seed=seed,
        name=name,
    )


ATTACKS.register(
    "autoattack", lambda eps, norm, seed, **kw: AutoAttack(eps, norm=norm, seed=seed, **kw)
)
ATTACKS.register(
    "autoattack-plus",
    lambda eps, norm, seed, **kw: AutoAttack(eps, norm=norm, seed=seed, version="plus", **kw),
)
ATTACKS.register(
    "autoattack-rand",
    lambda eps, norm, seed, **kw: AutoAttack(eps, norm=norm, seed=seed, version="rand", **kw),
)
ATTACKS.register(
    "apgd-ce", lambda eps, norm, seed, **kw: APGD(eps, norm=norm, loss="ce", seed=seed, **kw)
)
ATTACKS.register(
    "apgd-dlr", lambda eps, norm, seed, **kw: APGD(eps, norm=norm, loss="dlr", seed=seed, **kw)
)
ATTACKS.register("apgd-t", lambda eps, norm, seed, **kw: APGDT(eps, norm=norm, seed=seed, **kw))
ATTACKS.register("fab", lambda eps, norm, seed, **kw: FAB(eps, norm=norm, seed=seed, **kw))
ATTACKS.register("fab-t", lambda eps, norm, seed, **kw: FABT(eps, norm=norm, seed=seed, **kw))
ATTACKS.register("fgsm", lambda eps, norm, seed, **kw: FGSM(eps, seed=seed, **kw))
ATTACKS.register("square", lambda eps, norm, seed, **kw: Square(eps, norm=norm, seed=seed, **kw))


@ATTACKS.register("ensemble")
def _ensemble(eps, norm, seed, of=None, name=None, configs=None):
    """The attacks named `of`, each built from `configs` with its own seed."""
    if not of:
        raise ValueError(
            f"{name!r}: an ensemble takes `of`, the names of its attacks. Received: of={of!r}"
        )
    return Ensemble(
        [
            make_attack(m, eps, norm, None if seed is None else seed + j, configs)
            for j, m in enumerate(of)
        ],
        name=name,
    )


def list_attacks():
    """Names accepted by `make_attack` and `evaluate(attacks=...)`."""
    return ATTACKS.list()


def make_attack(name, eps, norm="linf", seed=None, configs=None, **kwargs):
    """Build the attack called `name` for budget `eps`.

    `configs` maps names to keyword arguments (`evaluate(attack_kwargs=...)`);
    a config's `"attack"` entry names the registry attack it configures, so
    `name` may be a new label. `kwargs` override the config. An `"ensemble"`
    takes `of`, the names of its members, each built from `configs` too.
    """
    configs = configs or {}
    key = name.lower()
    options = {**configs.get(key, {}), **kwargs}
    base = str(options.pop("attack", key)).lower()
    factory = ATTACKS.get(base)
    if base == "ensemble":  # its members are built from the same configs
        options["configs"] = configs
    try:
        return factory(eps, norm, seed, name=key, **options)
    except TypeError as error:
        raise ValueError(f"{name!r}: bad arguments for {base!r}: {error}") from None
