"""Budgets as people write them: 8/255 when that is what was meant, else the number (0.3)."""


def eps_text(eps):
    """`0.3` for budgets with a short decimal form, `8/255` for other multiples of 1/255."""
    scaled = eps * 255
    if abs(eps - round(eps, 3)) > 1e-9 and abs(scaled - round(scaled)) < 1e-6:
        return f"{round(scaled)}/255"
    return f"{eps:.6g}"


def threat_text(threat_model, eps):
    """`Linf 8/255`, `L2 0.5`: the threat model's name and its budget."""
    return f"{threat_model} {eps_text(eps)}"
