"""FAB (Croce & Hein 2020): the Fast Adaptive Boundary attack, untargeted and targeted.

FAB looks for a *minimally* distorted adversarial example. At each step it
linearises the decision boundary between the true class and another class,
projects both the current iterate and the clean image onto that hyperplane
(within the [0, 1] box, minimal L-inf, L2 or L1 norm), and moves to a convex
combination of the two projections biased towards the clean image
(`alpha <= alpha_max`), extrapolated by `eta`. Each adversarial iterate found
is kept if closer than the best so far, then pulled back towards the clean
image by `beta`. An example counts only if its distance is within `eps`.

The two attacks differ only in the boundary they aim at. `FAB` (AutoAttack's
`plus` version) takes, at every step, the boundary closest in the linear
approximation over all classes, with random restarts; `FABT` (AutoAttack's
standard version) aims at one target class per run, the 9 classes ranked
highest after the prediction in turn.
"""

from keras import ops

from tfrobust import backend
from tfrobust.argument_validation import NORMS
from tfrobust.argument_validation import check_int
from tfrobust.attacks import per_target
from tfrobust.attacks import projections
from tfrobust.attacks import selection
from tfrobust.attacks.apgd import sphere_start
from tfrobust.attacks.base import Attack

_BISECTIONS = 30  # halvings of [0, 1] in the hyperplane projection (below float32 precision)
_FAR = 1e12  # a kink never reached: coordinates the hyperplane does not depend on


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


def project_l2_hyperplane(p, w, b):
    """Smallest-L2 `d` with `w . (p + d) = b` and `p + d` in [0, 1]; rows are examples.

    The minimiser is `d_i = clip(lambda * w_i)` to the box (KKT), so `w . d`
    is piecewise linear in `lambda`, with a kink where each coordinate hits
    the box at `lambda_i = room_i / |w_i|`. Sorting the kinks finds the
    segment where `w . d` reaches the needed change, and `lambda` on it in
    closed form. Where the hyperplane cannot be reached inside the box, the
    largest move is returned, as in the reference implementation.
    """
    c = b - ops.sum(w * p, axis=1, keepdims=True)
    direction = ops.sign(w) * ops.sign(c)
    need, a = ops.abs(c), ops.abs(w)
    room = ops.where(direction > 0, 1.0 - p, p)
    kinks = ops.where(a > 0, room / ops.maximum(a, 1e-30), _FAR)
    order = ops.argsort(kinks, axis=1)
    kink, a_s, room_s = (ops.take_along_axis(v, order, axis=1) for v in (kinks, a, room))
    clipped = a_s * room_s
    clipped_before = ops.cumsum(clipped, axis=1) - clipped  # sum over j < k of a_j room_j
    free_from = ops.flip(ops.cumsum(ops.flip(ops.square(a_s), 1), axis=1), 1)  # j >= k: a_j^2
    gain_at_kink = clipped_before + clipped + kink * (free_from - ops.square(a_s))
    reached = gain_at_kink >= need
    k = ops.argmax(ops.cast(reached, "int32"), axis=1)[:, None]
    lam = (need - ops.take_along_axis(clipped_before, k, axis=1)) / ops.maximum(
        ops.take_along_axis(free_from, k, axis=1), 1e-30
    )
    lam = ops.where(ops.any(reached, axis=1, keepdims=True), lam, _FAR)
    return direction * ops.minimum(lam * a, room)


def project_l1_hyperplane(p, w, b):
    """Smallest-L1 `d` with `w . (p + d) = b` and `p + d` in [0, 1]; rows are examples.

    A fractional knapsack: a unit of L1 distance along coordinate i buys
    `|w_i|` of the needed change, so coordinates are moved to the box in
    decreasing order of `|w_i|` and the last one only as far as needed. Where
    the hyperplane cannot be reached inside the box, the largest move is
    returned, as in the reference implementation (`projection_l1`).
    """
    c = b - ops.sum(w * p, axis=1, keepdims=True)
    direction = ops.sign(w) * ops.sign(c)
    need, a = ops.abs(c), ops.abs(w)
    room = ops.where(direction > 0, 1.0 - p, p)
    order = ops.argsort(-a, axis=1)
    a_s, room_s = (ops.take_along_axis(v, order, axis=1) for v in (a, room))
    bought = ops.cumsum(a_s * room_s, axis=1)  # change reached by moving the first k fully
    reached = bought >= need
    k = ops.argmax(ops.cast(reached, "int32"), axis=1)[:, None]
    before = ops.take_along_axis(bought - a_s * room_s, k, axis=1)
    last = (need - before) / ops.maximum(ops.take_along_axis(a_s, k, axis=1), 1e-30)
    rank = ops.argsort(order, axis=1)  # each coordinate's place in `order`
    move = ops.where(rank < k, room, ops.where(rank == k, ops.minimum(last, room), 0.0))
    move = ops.where(ops.any(reached, axis=1, keepdims=True), move, room)
    return direction * move


_HYPERPLANE_PROJECTIONS = {
    "linf": project_linf_hyperplane,
    "l2": project_l2_hyperplane,
    "l1": project_l1_hyperplane,
}
_DUAL = {"linf": "l1", "l2": "l2", "l1": "linf"}


def _norm(v, norm):
    """L-inf, L2 or L1 norm over the last axis, kept as an axis of size 1."""
    if norm == "l2":
        return ops.sqrt(ops.sum(ops.square(v), axis=-1, keepdims=True))
    if norm == "l1":
        return ops.sum(ops.abs(v), axis=-1, keepdims=True)
    return ops.max(ops.abs(v), axis=-1, keepdims=True)


class _FABSearch(Attack):
    """The FAB iteration shared by `FAB` and `FABT`: runs differ in their linearisation.

    A run starts from `x_start` and, at every step, asks `linearise(z)` for
    the boundary to aim at, as `(f, w)`: the logit difference at `z`, positive
    on the side of the true class, and its gradient, so that the hyperplane is
    `w . z' = w . z - f`.
    """

    norms = NORMS

    def __init__(
        self, eps, norm="linf", steps=100, alpha_max=0.1, eta=1.05, beta=0.9, seed=None, **kwargs
    ):
        super().__init__(eps, norm=norm, seed=seed, **kwargs)
        self.steps = check_int("steps", steps)
        self.alpha_max, self.eta, self.beta = float(alpha_max), float(eta), float(beta)

    def _run(self, forward, x, y, x_start, linearise):
        """One FAB run from `x_start`; returns (closest adversarial x, its distance), flat.

        The distance is 1e10 where no adversarial point was found.
        """
        n = ops.shape(x)[0]
        shape = ops.shape(x)
        x0 = ops.reshape(x, (n, -1))
        project = _HYPERPLANE_PROJECTIONS[self.norm]

        def body(_, state):
            x1, best, dist = state
            f, w = linearise(x1)
            b = ops.sum(w * x1, axis=1, keepdims=True) - f
            d = project(
                ops.concatenate([x1, x0], 0), ops.concatenate([w, w], 0), ops.concatenate([b, b], 0)
            )
            d1, d2 = d[:n], d[n:]
            a1 = ops.maximum(_norm(d1, self.norm), 1e-8)
            a2 = ops.maximum(_norm(d2, self.norm), 1e-8)
            alpha = ops.clip(a1 / (a1 + a2), 0.0, self.alpha_max)
            x1 = ops.clip(
                (x1 + self.eta * d1) * (1 - alpha) + (x0 + self.eta * d2) * alpha, 0.0, 1.0
            )
            pred = ops.argmax(forward(ops.reshape(x1, shape)), axis=-1)
            is_adv = ops.not_equal(ops.cast(pred, y.dtype), y)[:, None]
            t = _norm(x1 - x0, self.norm)
            closer = is_adv & (t < dist)
            best = ops.where(closer, x1, best)
            dist = ops.where(closer, t, dist)
            x1 = ops.where(is_adv, x0 + (x1 - x0) * self.beta, x1)
            return x1, best, dist

        state = (ops.reshape(x_start, (n, -1)), x0, ops.full((n, 1), 1e10, dtype=x0.dtype))
        _, best, dist = ops.fori_loop(0, self.steps, body, state)
        return best, dist[:, 0]

    def _first_within_eps(self, x, n_runs, run):
        """Per example, the first of `run(j)`, j < n_runs, that is within `eps`; else `x`.

        `run(j)` returns `(best, dist)` as `_run` does.
        """
        n = ops.shape(x)[0]

        def each_run(j, state):
            out, found = state
            best, dist = run(j)
            take = ops.logical_and(ops.logical_not(found), dist <= self.eps)
            return ops.where(take[:, None], best, out), ops.logical_or(found, take)

        state = (ops.reshape(x, (n, -1)), ops.zeros((n,), dtype="bool"))
        out, _ = ops.fori_loop(0, n_runs, each_run, state)
        # `dist <= eps` already holds; the projection removes float32 rounding.
        x_adv = projections.project(ops.reshape(out, ops.shape(x)), x, self.eps, self.norm)
        return ops.stop_gradient(x_adv)

    def get_config(self):
        return {
            **super().get_config(),
            "steps": self.steps,
            "alpha_max": self.alpha_max,
            "eta": self.eta,
            "beta": self.beta,
        }


class FAB(_FABSearch):
    """Untargeted FAB, L-inf, L2 or L1, as in AutoAttack's `plus` version.

    At every step FAB linearises the model around the iterate for every class
    `j != y` (the gradients of all logits, one backward pass over K copies of
    the batch) and aims at the boundary `z_j = z_y` that is closest in the
    linear approximation, `|z_j - z_y| / ||grad z_j - grad z_y||_*` with the
    dual norm `||.||_*`.

    Args:
        eps: budget; FAB minimises the distance, and returns an adversarial
            example only where it found one within `eps`.
        norm: `"linf"`, `"l2"` or `"l1"`, the distance minimised.
        steps: iterations per restart (100 in AutoAttack).
        restarts: runs per example (5 in AutoAttack's `plus`): the first from
            the clean image, the others from a random point at distance
            `eps / 2`, as the reference's `attack_single_run(use_rand_start=True)`.
        alpha_max, eta, beta: FAB's bias towards the clean image, its
            extrapolation and its backward step (0.1, 1.05, 0.9).
        seed: seed of the random starts.

    Example:
        >>> x_adv = FAB(eps=8 / 255, restarts=5, seed=0)(model, x, y)  # doctest: +SKIP

    Reference:
        Croce & Hein, "Minimally distorted adversarial examples with a fast
        adaptive boundary attack", ICML 2020.
    """

    def __init__(
        self,
        eps,
        norm="linf",
        steps=100,
        restarts=1,
        alpha_max=0.1,
        eta=1.05,
        beta=0.9,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            eps,
            norm=norm,
            steps=steps,
            alpha_max=alpha_max,
            eta=eta,
            beta=beta,
            seed=seed,
            **kwargs,
        )
        self.restarts = check_int("restarts", restarts)

    def _closest_boundary(self, forward, x, y, num_classes):
        """`linearise` for `_run`: the boundary nearest in the linear approximation."""
        shape = tuple(x.shape[1:])

        def linearise(z):
            n = ops.shape(z)[0]
            copies = ops.tile(z, (num_classes, 1))  # copy j asks for grad(z_j - z_y)
            row_class = ops.repeat(ops.arange(num_classes), n)

            def total(zs):
                logits = forward(ops.reshape(zs, (-1,) + shape))
                own = ops.one_hot(row_class, num_classes, dtype=logits.dtype)
                true = ops.one_hot(ops.tile(y, (num_classes,)), num_classes, dtype=logits.dtype)
                diff = ops.sum(logits * (own - true), axis=1)
                return ops.sum(diff), diff

            (_, diff), grad = backend.value_and_grad(total, copies, has_aux=True)
            df = ops.transpose(ops.reshape(diff, (num_classes, -1)))  # (N, K): z_j - z_y
            dg = ops.transpose(ops.reshape(grad, (num_classes, n, -1)), (1, 0, 2))  # (N, K, D)
            distance = ops.abs(df) / (1e-12 + _norm(dg, _DUAL[self.norm])[..., 0])
            distance = ops.where(ops.one_hot(y, num_classes, dtype="bool"), 1e10, distance)
            j = ops.argmin(distance, axis=1)[:, None]
            w = ops.take_along_axis(dg, j[:, :, None], axis=1)[:, 0]
            # z_j - z_y is negative on the side of y: flip it to FAB-T's sign.
            return -ops.take_along_axis(df, j, axis=1), -w

        return linearise

    def perturb(self, forward, x, y):
        num_classes = forward(x).shape[-1]
        starts = ops.stack(
            [x]
            + [
                sphere_start(x, self.eps / 2, self.norm, self.seed_generator)
                for _ in range(self.restarts - 1)
            ]
        )
        linearise = self._closest_boundary(forward, x, y, num_classes)
        return self._first_within_eps(
            x,
            self.restarts,
            lambda j: self._run(forward, x, y, ops.take(starts, j, axis=0), linearise),
        )

    def get_config(self):
        return {**super().get_config(), "restarts": self.restarts}


class FABT(_FABSearch):
    """Targeted FAB, L-inf, L2 or L1, as in AutoAttack's standard version.

    Called as `attack(model, x, y)`, it runs one target at a time and gives
    each run only the points no run has fooled yet, as AutoAttack does
    (`tfrobust.attacks.per_target`); `perturb`, for compiled code, gives every
    run every point, to the same result.

    Args:
        eps: budget; FAB minimises the distance, and returns an adversarial
            example only where it found one within `eps`.
        norm: `"linf"`, `"l2"` or `"l1"`, the distance minimised.
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

    random_start = None  # every run starts from the clean image (`per_target`)

    def __init__(
        self,
        eps,
        norm="linf",
        steps=100,
        n_target_classes=9,
        alpha_max=0.1,
        eta=1.05,
        beta=0.9,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            eps,
            norm=norm,
            steps=steps,
            alpha_max=alpha_max,
            eta=eta,
            beta=beta,
            seed=seed,
            **kwargs,
        )
        self.n_target_classes = check_int("n_target_classes", n_target_classes)

    @staticmethod
    def _towards(forward, x, y, target):
        """`linearise` for `_run`: the boundary between `y` and `target`."""
        shape = ops.shape(x)

        def diff(z):
            logits = forward(z)
            k = ops.shape(logits)[-1]
            picked = ops.one_hot(y, k, dtype=logits.dtype) - ops.one_hot(
                target, k, dtype=logits.dtype
            )
            f = ops.sum(logits * picked, axis=1)  # z_y - z_t: positive before the boundary
            return ops.sum(f), f

        def linearise(z):
            (_, f), grad = backend.value_and_grad(diff, ops.reshape(z, shape), has_aux=True)
            return f[:, None], ops.reshape(grad, ops.shape(z))

        return linearise

    def run_target(self, forward, x, y, target, start):
        """One FAB run from `start` towards `target`: `(x_adv, loss, success)` per point.

        `x_adv` is the closest adversarial point found where it is within
        `eps`, else `x`; the loss is minus its distance.
        """
        best, dist = self._run(forward, x, y, start, self._towards(forward, x, y, target))
        ok = dist <= self.eps
        x_adv = ops.where(ok[:, None], best, ops.reshape(x, ops.shape(best)))
        # `dist <= eps` already holds; the projection removes float32 rounding.
        x_adv = projections.project(ops.reshape(x_adv, ops.shape(x)), x, self.eps, self.norm)
        return ops.stop_gradient(x_adv), -dist, ok

    def __call__(self, model, x, y):
        """Attack `model` one target at a time, each run only on the points no run has
        fooled yet, as AutoAttack does (`per_target`)."""
        return per_target.attack_per_target(self, model, x, y)

    def perturb(self, forward, x, y):
        targets = selection.target_classes(forward(x), y, self.n_target_classes)
        return self._first_within_eps(
            x,
            self.n_target_classes,
            lambda j: self._run(
                forward, x, y, x, self._towards(forward, x, y, ops.take(targets, j, axis=1))
            ),
        )

    def get_config(self):
        return {**super().get_config(), "n_target_classes": self.n_target_classes}


__all__ = [
    "FAB",
    "FABT",
    "project_l1_hyperplane",
    "project_l2_hyperplane",
    "project_linf_hyperplane",
]
