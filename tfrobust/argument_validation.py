"""Checks of the arguments of constructors and functions, with one message format.

A bad argument is rejected before any work, in keras-hub's form: the argument
by name, what it must be (which says the fix) and the value received:

    ValueError: `steps` must be an integer >= 1. Received: steps=0

Each check returns the value normalised (an `int`, a `float`), so that a
constructor reads `self.steps = check_int("steps", steps)`. The checks are
plain Python, importable from any layer of the package. The data that attacks
and evaluations receive (images, labels, model outputs) is checked by
`tfrobust.validation`.
"""

import math
import numbers

NORMS = ("linf", "l2", "l1")


def _reject(name, value, requirement):
    raise ValueError(f"`{name}` must be {requirement}. Received: {name}={value!r}")


def check_int(name, value, minimum=1, maximum=None, allow_none=False, hint=""):
    """`value` as an `int` in `[minimum, maximum]` (booleans refused), or None where
    `allow_none`.

    `hint` is appended to the requirement, e.g. `" (a wrong class must exist)"`.
    """
    if value is None and allow_none:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        limits = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        _reject(name, value, f"an integer {limits}{' or None' if allow_none else ''}{hint}")
    return int(value)


def check_number(
    name, value, minimum=None, maximum=None, exclusive_minimum=False, allow_none=False, hint=""
):
    """`value` as a finite `float` in the range given (booleans refused), or None where
    `allow_none`; `exclusive_minimum` excludes `minimum` itself."""
    if value is None and allow_none:
        return None
    ok = (
        not isinstance(value, bool)
        and isinstance(value, numbers.Real)
        and math.isfinite(value)
        and (minimum is None or (value > minimum if exclusive_minimum else value >= minimum))
        and (maximum is None or value <= maximum)
    )
    if not ok:
        low = "(" if exclusive_minimum else "["
        if minimum is None and maximum is None:
            limits = ""
        elif maximum is None:
            limits = f" {'>' if exclusive_minimum else '>='} {minimum:g}"
        elif minimum is None:
            limits = f" <= {maximum:g}"
        else:
            limits = f" in {low}{minimum:g}, {maximum:g}]"
        _reject(name, value, f"a finite number{limits}{' or None' if allow_none else ''}{hint}")
    return float(value)


def check_bool(name, value):
    """`value`, which must be a `bool` (not merely truthy)."""
    if not isinstance(value, bool):
        _reject(name, value, "a bool")
    return value


def check_choice(name, value, choices):
    """`value`, which must be one of `choices`."""
    if value not in choices:
        _reject(name, value, f"one of {tuple(choices)}")
    return value


def check_eps(eps, norm):
    """A perturbation budget for `norm`, in the [0, 1] pixel scale, as a `float`."""
    check_choice("norm", norm, NORMS)
    value = check_number("eps", eps, minimum=0)
    if norm == "linf" and value > 1:
        raise ValueError(
            "`eps` is in the [0, 1] pixel scale (8/255, not 8); an L-inf budget "
            f"above 1 means nothing. Received: eps={eps!r}"
        )
    return value
