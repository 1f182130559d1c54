"""FAB-T (Croce & Hein 2020): the targeted Fast Adaptive Boundary attack, L-inf.

FAB looks for a *minimally* distorted adversarial example. At each step it
linearises the decision boundary between the true class and a target class,
projects both the current iterate and the clean image onto that hyperplane
(within the [0, 1] box, minimal L-inf norm), and moves to a convex combination
of the two projections biased towards the clean image (`alpha <= alpha_max`),
extrapolated by `eta`. Each adversarial iterate found is kept if closer than
the best so far, then pulled back towards the clean image by `beta`. An
example counts only if its distance is within `eps`. AutoAttack's FAB-T runs
this for each of the 9 classes ranked highest after the prediction.
"""

from keras import ops

from tfrobust import backend
from tfrobust.attacks.base import Attack

_BISECTIONS = 30  # halvings of [0, 1] in the hyperplane projection (below float32 precision)


def project_linf_hyperplane(p, w, b):
    """Smallest-L-inf `d` with `w . (p + d) = b` and `p + d` in [0, 1]; rows are examples.

    Moving along the box-clipped signed direction, `w . d(t)` grows monotonically
    with the L-inf radius `t`, so `t` is found by bisection on [0, 1]. Where
    the hyperplane cannot be reached inside the box, the largest move
    (`t = 1`) is returned, as in the reference implementation.
    """
    c = b - ops.sum(w * p, axis=1, keepdims=True)  # needed change of w . p
    direction = ops.sign(w) * ops.sign(c)
    lower, upper = -p, 1.0 - p

    def gain(t):
        moved = ops.clip(t * direction, lower, upper)
        return ops.sum(w * moved, axis=1, keepdims=True) * ops.sign(c)

    need = ops.abs(c)

    def halve(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        enough = gain(mid) >= need
        return ops.where(enough, lo, mid), ops.where(enough, mid, hi)

    _, hi = ops.fori_loop(0, _BISECTIONS, halve, (ops.zeros_like(need), ops.ones_like(need)))
    return ops.clip(hi * direction, lower, upper)


class FABT(Attack):
    """Targeted FAB, L-inf, as in AutoAttack's standard version.

    Args:
        eps: L-inf budget; FAB minimises the distance, and returns an
            adversarial example only where it found one within `eps`.
        norm: `"linf"` (the only norm implemented here).
        steps: iterations per target class (100 in AutoAttack).
        n_target_classes: targets, the classes ranked 2nd, 3rd, ... by the
            model on the clean image (9 in AutoAttack).
        alpha_max, eta, beta: FAB's bias towards the clean image, its
            extrapolation and its backward step (0.1, 1.05, 0.9).
        seed: unused (FAB-T in AutoAttack has no random start); kept for a
            uniform signature.

    Example:
        >>> x_adv = FABT(eps=8 / 255)(model, x, y)  # doctest: +SKIP

    Reference:
        Croce & Hein, "Minimally distorted adversarial examples with a fast
        adaptive boundary attack", ICML 2020.
    """

    def __init__(self, eps, norm="linf", steps=100, n_target_classes=9, alpha_max=0.1,
                 eta=1.05, beta=0.9, seed=None):
        super().__init__(eps, norm=norm, seed=seed)
        if norm != "linf":
            raise ValueError(f"FABT is implemented for norm='linf' only. Received: norm={norm!r}")
        for name, value in (("steps", steps), ("n_target_classes", n_target_classes)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be an int >= 1. Received: {name}={value!r}")
        self.steps = steps
        self.n_target_classes = n_target_classes
        self.alpha_max, self.eta, self.beta = float(alpha_max), float(eta), float(beta)

    def _run_target(self, forward, x, y, target):
        """One FAB run towards `target`; returns (best x_adv, its L-inf distance)."""
        n = ops.shape(x)[0]
        shape = ops.shape(x)
        flat = (n, -1)
        x0 = ops.reshape(x, flat)
        big = 1e10

        def diff(z):
            logits = forward(z)
            k = ops.shape(logits)[-1]
            picked = (ops.one_hot(y, k, dtype=logits.dtype)
                      - ops.one_hot(target, k, dtype=logits.dtype))
            f = ops.sum(logits * picked, axis=1)  # z_y - z_t: positive before the boundary
            return ops.sum(f), f

        def body(_, state):
            x1, best, dist = state
            (_, f), grad = backend.value_and_grad(diff, ops.reshape(x1, shape), has_aux=True)
            f = f[:, None]
            w = ops.reshape(grad, flat)
            b = ops.sum(w * x1, axis=1, keepdims=True) - f  # hyperplane w . z = b
            d = project_linf_hyperplane(ops.concatenate([x1, x0], 0), ops.concatenate([w, w], 0),
                                        ops.concatenate([b, b], 0))
            d1, d2 = d[:n], d[n:]
            a1 = ops.maximum(ops.max(ops.abs(d1), axis=1, keepdims=True), 1e-8)
            a2 = ops.maximum(ops.max(ops.abs(d2), axis=1, keepdims=True), 1e-8)
            alpha = ops.clip(a1 / (a1 + a2), 0.0, self.alpha_max)
            x1 = ops.clip((x1 + self.eta * d1) * (1 - alpha) + (x0 + self.eta * d2) * alpha,
                          0.0, 1.0)
            pred = ops.argmax(forward(ops.reshape(x1, shape)), axis=-1)
            is_adv = ops.not_equal(ops.cast(pred, y.dtype), y)[:, None]
            t = ops.max(ops.abs(x1 - x0), axis=1, keepdims=True)
            closer = is_adv & (t < dist)
            best = ops.where(closer, x1, best)
            dist = ops.where(closer, t, dist)
            x1 = ops.where(is_adv, x0 + (x1 - x0) * self.beta, x1)
            return x1, best, dist

        state = (x0, x0, ops.full((n, 1), big, dtype=x0.dtype))
        _, best, dist = ops.fori_loop(0, self.steps, body, state)
        return best, dist[:, 0]

    def perturb(self, forward, x, y):
        logits = forward(x)
        k = logits.shape[-1]
        if k is not None and k < self.n_target_classes + 1:
            raise ValueError(
                f"`n_target_classes` must be below the number of classes ({k}). "
                f"Received: n_target_classes={self.n_target_classes}"
            )
        targets = ops.cast(ops.top_k(logits, self.n_target_classes + 1)[1][:, 1:], y.dtype)
        n = ops.shape(x)[0]

        def each_target(j, state):
            out, found = state
            best, dist = self._run_target(forward, x, y, ops.take(targets, j, axis=1))
            take = ops.logical_and(ops.logical_not(found), dist <= self.eps)
            return ops.where(take[:, None], best, out), ops.logical_or(found, take)

        state = (ops.reshape(x, (n, -1)), ops.zeros((n,), dtype="bool"))
        out, _ = ops.fori_loop(0, self.n_target_classes, each_target, state)
        x_adv = ops.reshape(out, ops.shape(x))
        # `dist <= eps` already holds; the clip removes float32 rounding.
        x_adv = ops.clip(ops.clip(x_adv, x - self.eps, x + self.eps), 0.0, 1.0)
        return ops.stop_gradient(x_adv)

    def get_config(self):
        return {**super().get_config(), "steps": self.steps,
                "n_target_classes": self.n_target_classes, "alpha_max": self.alpha_max,
                "eta": self.eta, "beta": self.beta}


__all__ = ["FABT", "project_linf_hyperplane"]
