"""Adaptive attacks: each defense in a model names the attack that targets it.

A defense that changes the network can weaken attacks on the final logits
while leaving the model no more robust (Tramer et al. 2020, "On Adaptive
Attacks to Adversarial Example Defenses"). So every defense layer declares,
in its class attribute `adaptive_attacks`, the registry attacks that its
paper or its structure calls for (`joint-pgd` for layers with auxiliary heads,
`pgd-random-target` for feature denoising), and a model whose output is random
at inference gets EOT attacks (`eot-pgd`, `autoattack-rand`). `evaluate`
runs them beside the requested attacks and inside the worst case.
"""

import keras
import numpy as np

RANDOMISED = "random at inference"
RANDOMISED_ATTACKS = ("eot-pgd", "autoattack-rand")


def _sublayers(layer):
    for sub in getattr(layer, "layers", ()):  # functional and sequential models, nested
        yield sub
        yield from _sublayers(sub)


RANDOMNESS_TOLERANCE = 1e-5  # relative change of the logits that counts as random


def logit_variation(first, second):
    """The largest change between two inference passes' logits, relative to their scale."""
    scale = np.abs(first).max(initial=0.0) + 1e-12
    return float(np.abs(first - second).max(initial=0.0) / scale)


def is_randomised(model, x):
    """Whether two inference passes on the same images disagree (AutoAttack's check; the
    sanity check `randomised_model` applies the same rule)."""
    first, second = (keras.ops.convert_to_numpy(model(x, training=False)) for _ in range(2))
    return logit_variation(first, second) > RANDOMNESS_TOLERANCE


def adaptive_attacks(model, x):
    """`{attack name: [what asks for it]}` for `model`, in the order found.

    Layers are named `"<layer name> (<class>)"`; a randomised output is
    `RANDOMISED`. `x` is a small batch of valid images, used to test randomness.

    Raises:
        ValueError: the model is random at inference and the backend is JAX,
            whose compiled attacks see one draw per call (see
            `tfrobust.attacks.eot`): EOT would silently be a plain attack.
    """
    found = {}
    for layer in _sublayers(model):
        for name in getattr(type(layer), "adaptive_attacks", ()):
            found.setdefault(name, []).append(f"{layer.name} ({type(layer).__name__})")
    if is_randomised(model, x):
        if keras.backend.backend() == "jax":
            raise ValueError(
                "The model's output is random at inference, and on JAX a compiled attack "
                "sees the same random draw in every pass, so EOT cannot average over draws. "
                "Evaluate it with KERAS_BACKEND=tensorflow."
            )
        for name in RANDOMISED_ATTACKS:
            found.setdefault(name, []).append(RANDOMISED)
    return found


def describe(summary):
    """Lines saying, per defense found, which adaptive attack ran and what it changed."""
    adaptive = [a for a in summary.attacks if a.adaptive_for]
    if not adaptive:
        return ["No defense layer in this model asks for an adaptive attack."]
    lines = []
    for attack in adaptive:
        lines.append(
            f"{', '.join(attack.adaptive_for)}: {attack.name} {attack.robust_accuracy:.2%} robust"
        )
    before = summary.robust_accuracy_non_adaptive
    if before is None:
        lines.append("The adaptive attacks were also requested by name: nothing to compare.")
    else:
        change = before - summary.robust_accuracy
        lines.append(
            f"Worst case without the adaptive attacks {before:.2%}, with them "
            f"{summary.robust_accuracy:.2%} ({change:.2%} lower)."
        )
    return lines
