"""Auto-PGD (Croce & Hein 2020): PGD with momentum and a self-tuning step size.

The step size starts at 2 * eps and is halved at checkpoints w_j where the
loss stopped improving, so the only budget to choose is the iteration count.
With checkpoint fractions p_0 = 0, p_1 = 0.22,
p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06), the step size is halved at
w_j = ceil(p_j * steps) when either
  1. the loss increased in at most rho = 75% of the steps since w_{j-1}, or
  2. the step was not halved at w_{j-1} and the best loss has not improved since.
On halving, the attack restarts from the best point found so far.
"""

from keras import ops

from tfrobust import backend
from tfrobust.argument_validation import check_int
from tfrobust.attacks import losses
from tfrobust.attacks import projections
from tfrobust.attacks import selection
from tfrobust.attacks.base import Attack
from tfrobust.attacks.eot import expected_loss

import keras

MOMENTUM = 0.75  # alpha: weight of the new gradient step against the last move
RHO = 0.75  # condition 1: fraction of loss increases below which to halve
INITIAL_STEP = 2.0  # initial step size, in units of eps


def checkpoints(steps):
    """Iterations (1-based) after which APGD may halve its step size.

    Integer form of the paper's schedule, as in the reference implementation:
    the first period is int(0.22 * steps), each next one 0.03 * steps shorter,
    never shorter than 0.06 * steps.
    """
    period = max(int(0.22 * steps), 1)
    shrink = max(int(0.03 * steps), 1)
    shortest = max(int(0.06 * steps), 1)
    points = []
    while (points[-1] if points else 0) + period <= steps:
        points.append((points[-1] if points else 0) + period)
        period = max(period - shrink, shortest)
    return points


def sphere_start(x, eps, norm, seed):
    """APGD's random start: a point on the boundary of the ball (L2) or cube (L-inf)."""
    if norm == "linf":
        t = keras.random.uniform(ops.shape(x), -1.0, 1.0, seed=seed)
        axes = tuple(range(1, len(x.shape)))
        t = t / (ops.max(ops.abs(t), axis=axes, keepdims=True) + projections.TINY)
    else:
        t = projections.l2_normalize(keras.random.normal(ops.shape(x), seed=seed))
    return ops.clip(x + eps * t, 0.0, 1.0)


def apgd_run(forward, x, x_start, loss_fn, success_fn, eps, norm, steps, eot_samples=1):
    """One APGD run from `x_start`.

    `loss_fn(logits)` gives the per-example loss to ascend and
    `success_fn(logits)` whether an example is adversarial. Returns the triple
    `(x_adv, loss, success)`: the first successful iterate where there is one,
    else the iterate of highest loss, with that loss. With `eot_samples > 1`
    the loss and its gradient are means over that many draws of a randomised
    model (`tfrobust.attacks.eot`).
    """
    points = checkpoints(steps)
    # Per-iteration tables: is iteration i a checkpoint, and how long was its period.
    is_check = [False] * steps
    period = [0.0] * steps
    previous = 0
    for w in points:
        is_check[w - 1], period[w - 1] = True, float(w - previous)
        previous = w
    is_check = ops.convert_to_tensor(is_check)
    period = ops.convert_to_tensor(period, dtype=x.dtype)

    def loss_and_grad(z):
        def total(z):
            logits, loss = expected_loss(forward, z, loss_fn, eot_samples)
            return ops.sum(loss), (loss, logits)

        (_, (loss, logits)), grad = backend.value_and_grad(total, z, has_aux=True)
        return loss, success_fn(logits), grad

    def each(mask):
        return selection.per_example(mask, x)

    loss0, ok0, grad0 = loss_and_grad(x_start)
    n = ops.shape(x)[0]
    state = dict(
        x_adv=x_start, x_prev=x_start, grad=grad0, loss_prev=loss0,
        step=ops.full((n,), INITIAL_STEP * eps, dtype=x.dtype),
        increases=ops.zeros((n,), dtype=x.dtype),
        x_best=x_start, grad_best=grad0, loss_best=loss0,
        x_ok=x_start, ok=ok0,
        loss_best_at_check=loss0, halved_at_check=ops.ones((n,), dtype="bool"),
    )

    def body(i, s):
        # Momentum step: no momentum on the very first step, as in the paper.
        a = ops.cast(ops.where(ops.greater(i, 0), MOMENTUM, 1.0), x.dtype)
        move = s["x_adv"] - s["x_prev"]
        z = s["x_adv"] + each(s["step"]) * projections.steepest_ascent(s["grad"], norm)
        z = projections.project(z, x, eps, norm)
        x_new = s["x_adv"] + a * (z - s["x_adv"]) + (1.0 - a) * move
        x_new = projections.project(x_new, x, eps, norm)

        loss, ok, grad = loss_and_grad(x_new)
        first_ok = ops.logical_and(ok, ops.logical_not(s["ok"]))
        x_ok = ops.where(each(first_ok), x_new, s["x_ok"])
        ok = ops.logical_or(ok, s["ok"])
        increases = s["increases"] + ops.cast(ops.greater(loss, s["loss_prev"]), x.dtype)
        better = ops.greater(loss, s["loss_best"])
        x_best = ops.where(each(better), x_new, s["x_best"])
        grad_best = ops.where(each(better), grad, s["grad_best"])
        loss_best = ops.where(better, loss, s["loss_best"])

        # Checkpoint: halve the step where either condition holds.
        at_check = ops.take(is_check, i)
        oscillating = ops.less_equal(increases, RHO * ops.take(period, i))
        stalled = ops.logical_and(
            ops.logical_not(s["halved_at_check"]),
            ops.greater_equal(s["loss_best_at_check"], loss_best),
        )
        halve = ops.logical_and(at_check, ops.logical_or(oscillating, stalled))
        return dict(
            x_adv=ops.where(each(halve), x_best, x_new),
            x_prev=s["x_adv"],
            grad=ops.where(each(halve), grad_best, grad),
            loss_prev=loss,
            step=ops.where(halve, 0.5 * s["step"], s["step"]),
            increases=ops.where(at_check, ops.zeros_like(increases), increases),
            x_best=x_best, grad_best=grad_best, loss_best=loss_best,
            x_ok=x_ok, ok=ok,
            loss_best_at_check=ops.where(at_check, loss_best, s["loss_best_at_check"]),
            halved_at_check=ops.where(at_check, halve, s["halved_at_check"]),
        )

    s = ops.fori_loop(0, steps, body, state)
    return ops.where(each(s["ok"]), s["x_ok"], s["x_best"]), s["loss_best"], s["ok"]


class APGD(Attack):
    """APGD with cross-entropy or DLR loss (APGD-CE / APGD-DLR of AutoAttack).

    Args:
        eps: budget in the [0, 1] pixel scale.
        norm: `"linf"` or `"l2"`.
        steps: iterations per restart (100 in AutoAttack); the step-size
            checkpoints scale with it.
        restarts: independent random starts; the first success is kept, else
            the highest loss.
        loss: `"ce"`, `"dlr"` or `"cw"` (see `tfrobust.attacks.losses`).
        targeted: if True, `y` passed to the call holds *target* classes. For
            AutoAttack's APGD-T, which picks the targets itself, use `APGDT`.
        seed: seed of the random starts.
        eot_samples: draws of a randomised model averaged per step (1: none;
            20 in AutoAttack's `rand` version).

    Example:
        >>> x_adv = APGD(eps=8 / 255, loss="ce")(model, x, y)  # doctest: +SKIP
        >>> x_adv = APGD(eps=0.5, norm="l2", loss="dlr")(model, x, y)  # doctest: +SKIP

    Reference:
        Croce & Hein, "Reliable evaluation of adversarial robustness with an
        ensemble of diverse parameter-free attacks", ICML 2020.
    """

    def __init__(self, eps=8 / 255, norm="linf", steps=100, restarts=1, loss="ce",
                 targeted=False, seed=None, eot_samples=1, **kwargs):
        super().__init__(eps, norm=norm, seed=seed, **kwargs)
        self.eot_samples = check_int("eot_samples", eot_samples)
        self.steps = check_int("steps", steps)
        self.restarts = check_int("restarts", restarts)
        self.loss_fn = losses.get(loss, targeted)
        self.loss = loss
        self.targeted = bool(targeted)

    def perturb(self, forward, x, y):
        starts = ops.stack([sphere_start(x, self.eps, self.norm, self.seed_generator)
                            for _ in range(self.restarts)])

        def run(i):
            return apgd_run(
                forward, x, ops.take(starts, i, axis=0),
                lambda logits: self.loss_fn(logits, y),
                lambda logits: selection.success(logits, y, self.targeted),
                self.eps, self.norm, self.steps, self.eot_samples,
            )

        return ops.stop_gradient(selection.best_of(self.restarts, run)[0])

    def get_config(self):
        return {**super().get_config(), "steps": self.steps, "restarts": self.restarts,
                "loss": self.loss, "targeted": self.targeted, "eot_samples": self.eot_samples}


class APGDT(Attack):
    """APGD-T of AutoAttack: targeted DLR towards each of the top other classes.

    `y` are the *true* labels. For each of the `n_target_classes` classes the
    model ranks highest after the prediction on the clean images, APGD ascends
    the targeted DLR loss towards it; an example counts as broken as soon as
    it is misclassified (any class), and the first such example is returned.

    Args:
        eps: budget in the [0, 1] pixel scale.
        norm: `"linf"` or `"l2"`.
        steps: iterations per target and restart (100 in AutoAttack).
        restarts: random starts per target class (1 in AutoAttack).
        n_target_classes: how many target classes to try (9 in AutoAttack,
            i.e. all others on 10-class data); needs n_target_classes + 1 classes.
        seed: seed of the random starts.

    Example:
        >>> x_adv = APGDT(eps=8 / 255)(model, x, y)  # doctest: +SKIP
    """

    def __init__(self, eps=8 / 255, norm="linf", steps=100, restarts=1,
                 n_target_classes=9, seed=None, **kwargs):
        super().__init__(eps, norm=norm, seed=seed, **kwargs)
        self.steps = check_int("steps", steps)
        self.restarts = check_int("restarts", restarts)
        self.n_target_classes = check_int("n_target_classes", n_target_classes)

    def perturb(self, forward, x, y):
        logits = forward(x)
        k = logits.shape[-1]
        if k is not None:
            check_int("n_target_classes", self.n_target_classes, maximum=k - 1,
                      hint=f" (below the number of classes, {k})")
        # Column j holds the (j + 2)-th highest clean logit's class.
        targets = ops.top_k(logits, self.n_target_classes + 1)[1][:, 1:]
        targets = ops.cast(targets, y.dtype)
        n_runs = self.n_target_classes * self.restarts
        starts = ops.stack([sphere_start(x, self.eps, self.norm, self.seed_generator)
                            for _ in range(n_runs)])

        def run(i):
            target = ops.take(targets, i // self.restarts, axis=1)
            return apgd_run(
                forward, x, ops.take(starts, i, axis=0),
                lambda logits: losses.targeted_dlr(logits, target, y),
                lambda logits: selection.success(logits, y),
                self.eps, self.norm, self.steps,
            )

        return ops.stop_gradient(selection.best_of(n_runs, run)[0])

    def get_config(self):
        return {**super().get_config(), "steps": self.steps, "restarts": self.restarts,
                "n_target_classes": self.n_target_classes}
