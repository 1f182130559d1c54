"""Attacks by name, built for a threat model: `make_attack("square", eps=8/255)`.

Names let an evaluation re-build the same attacks at other budgets (the
accuracy-vs-epsilon curve, the sanity checks); step sizes scale with `eps`.
"""

import inspect

from tfrobust.attacks.apgd import APGD
from tfrobust.attacks.apgd import APGDT
from tfrobust.attacks.autoattack import AutoAttack
from tfrobust.attacks.ensemble import Ensemble
from tfrobust.attacks.fgsm import FGSM
from tfrobust.attacks.pgd import PGD
from tfrobust.attacks.square import Square


def _pgd(eps, norm, seed, steps=20, restarts=1):
    return PGD(eps, step_size=max(2.5 * eps / steps, 1e-6), steps=steps, norm=norm,
               restarts=restarts, seed=seed)


_FACTORIES = {
    "autoattack": lambda eps, norm, seed, **kw: AutoAttack(eps, norm=norm, seed=seed, **kw),
    "apgd-ce": lambda eps, norm, seed, **kw: APGD(eps, norm=norm, loss="ce", seed=seed, **kw),
    "apgd-dlr": lambda eps, norm, seed, **kw: APGD(eps, norm=norm, loss="dlr", seed=seed, **kw),
    "apgd-t": lambda eps, norm, seed, **kw: APGDT(eps, norm=norm, seed=seed, **kw),
    "pgd": lambda eps, norm, seed, **kw: _pgd(eps, norm, seed, **kw),
    "fgsm": lambda eps, norm, seed, **kw: FGSM(eps, seed=seed, **kw),
    "square": lambda eps, norm, seed, **kw: Square(eps, norm=norm, seed=seed, **kw),
}


def list_attacks():
    """Names accepted by `make_attack` and `evaluate(attacks=...)`."""
    return sorted(_FACTORIES)


def make_attack(name, eps, norm="linf", seed=None, **kwargs):
    """Build the attack called `name` for budget `eps` (keyword overrides in `kwargs`)."""
    key = name.lower()
    if key not in _FACTORIES:
        raise ValueError(f"Unknown attack {name!r}. Known attacks: {list_attacks()}")
    attack = _FACTORIES[key](eps, norm, seed, **kwargs)
    attack.name = key
    return attack


def with_eps(attack, eps, seed=None):
    """A new attack like `attack` (built from its config) but with budget `eps`.

    Absolute step sizes in the config are kept as they are; `seed` seeds the
    new attack (configs do not hold seeds).
    """
    name = getattr(attack, "name", None)
    if isinstance(attack, Ensemble):
        if isinstance(attack, AutoAttack) and attack.version == "standard":
            config = attack.get_config()
            new = AutoAttack(eps, norm=attack.norm, seed=seed, apgd_steps=config["apgd_steps"],
                             fab_steps=config["fab_steps"],
                             square_queries=config["square_queries"])
        else:
            members = [with_eps(a, eps, seed) for a in attack.attacks]
            if isinstance(attack, AutoAttack):
                new = AutoAttack(eps, norm=attack.norm, version="custom", attacks=members)
            else:
                new = Ensemble(members, names=list(attack.names))
    else:
        config = dict(attack.get_config())
        params = inspect.signature(type(attack).__init__).parameters
        kwargs = {k: v for k, v in config.items() if k in params and k != "eps"}
        if "seed" in params:
            kwargs["seed"] = seed
        new = type(attack)(eps, **kwargs)
    if name:
        new.name = name
    return new
