"""Auto-PGD (Croce & Hein 2020): PGD with momentum and a self-tuning step size.

The step size starts at 2 * eps and is halved at checkpoints w_j where the
loss stopped improving, so the only budget to choose is the iteration count.
With checkpoint fractions p_0 = 0, p_1 = 0.22,
p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06), the step size is halved at
w_j = ceil(p_j * steps) when either
  1. the loss increased in at most rho = 75% of the steps since w_{j-1}, or
  2. the step was not halved at w_{j-1} and the best loss has not improved since.
On halving, the attack restarts from the best point found so far.

At L1 (Croce & Hein 2021, "Mind the box") a sign step would spread the
budget over every pixel, so APGD steps along the signs of the largest
gradient coordinates only, a fraction `topk` that follows the sparsity of the
best point, projects onto the L1 ball within the [0, 1] box at once
(`projections.project_l1`), and has no momentum (`_apgd_loop`). AutoAttack's
L1 setting also runs it first at 3 and 2 times the budget (`large_eps`).
"""

import math

import keras
from keras import ops

from tfrobust import backend
from tfrobust.argument_validation import NORMS
from tfrobust.argument_validation import check_int
from tfrobust.attacks import losses
from tfrobust.attacks import per_target
from tfrobust.attacks import projections
from tfrobust.attacks import selection
from tfrobust.attacks.base import Attack
from tfrobust.attacks.eot import expected_loss

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


def l1_checkpoints(steps):
    """Iterations (1-based) after which L1-APGD revises its step size and sparsity.

    Every `max(int(0.04 * steps), 1)` iterations, as in the reference.
    """
    period = max(int(0.04 * steps), 1)
    return list(range(period, steps + 1, period))


def large_eps_schedule(steps):
    """The `use_largereps` schedule of L1-APGD: `(budget factor, iterations)` per stage.

    `ceil(0.3 * steps)` at 3 eps, as many at 2 eps, the rest at eps (30, 30,
    40 for 100 steps), as the reference rounds.
    """
    first = math.ceil(0.3 * steps)
    return [(3.0, first), (2.0, first), (1.0, steps - 2 * first)]


def sphere_start(x, eps, norm, seed):
    """A random point at distance `eps` (L-inf: uniform; L2, L1: Gaussian direction), in [0, 1]."""
    if norm == "linf":
        t = keras.random.uniform(ops.shape(x), -1.0, 1.0, seed=seed)
        axes = tuple(range(1, len(x.shape)))
        t = t / (ops.max(ops.abs(t), axis=axes, keepdims=True) + projections.TINY)
    elif norm == "l2":
        t = projections.l2_normalize(keras.random.normal(ops.shape(x), seed=seed))
    else:
        t = keras.random.normal(ops.shape(x), seed=seed)
        axes = tuple(range(1, len(x.shape)))
        t = t / (ops.sum(ops.abs(t), axis=axes, keepdims=True) + projections.TINY)
    return ops.clip(x + eps * t, 0.0, 1.0)


def apgd_start(x, eps, norm, seed, large_eps=False):
    """APGD's random start: on the sphere (L-inf, L2), or, at L1, a Gaussian draw
    projected onto the L1 ball within the box, of radius 3 eps with `large_eps`."""
    if norm != "l1":
        return sphere_start(x, eps, norm, seed)
    radius = 3.0 * eps if large_eps else eps
    return projections.project(x + keras.random.normal(ops.shape(x), seed=seed), x, radius, "l1")


def sparse_step(grad, topk):
    """L1-APGD's steepest ascent: the signs of the `topk` fraction of largest |grad|, unit L1 norm.

    `topk` is per example; the threshold is the |grad| ranked
    `(1 - topk) * D`-th in increasing order, ties included, as in the reference.
    """
    size = math.prod(grad.shape[1:])  # static even where the batch dimension is not (TF)
    flat = ops.reshape(grad, (-1, size))
    rank = ops.cast(ops.clip(ops.floor((1.0 - topk) * size), 0, size - 1), "int32")
    threshold = ops.take_along_axis(ops.sort(ops.abs(flat), axis=1), rank[:, None], axis=1)
    signs = ops.sign(flat) * ops.cast(ops.abs(flat) >= threshold, flat.dtype)
    signs = signs / (ops.sum(ops.abs(signs), axis=1, keepdims=True) + 1e-10)
    return ops.reshape(signs, ops.shape(grad))


def _sparsity(delta):
    """Per-example count of nonzero coordinates (L0 norm), as a float."""
    axes = tuple(range(1, len(delta.shape)))
    return ops.sum(ops.cast(ops.not_equal(delta, 0.0), delta.dtype), axis=axes)


def apgd_run(
    forward, x, x_start, loss_fn, success_fn, eps, norm, steps, eot_samples=1, large_eps=False
):
    """One APGD run from `x_start`.

    `loss_fn(logits)` gives the per-example loss to ascend and
    `success_fn(logits)` whether an example is adversarial. Returns the triple
    `(x_adv, loss, success)`: the first successful iterate where there is one,
    else the iterate of highest loss, with that loss. With `eot_samples > 1`
    the loss and its gradient are means over that many draws of a randomised
    model (`tfrobust.attacks.eot`). With `large_eps` (L1 only), the run is
    chained over `large_eps_schedule(steps)`, each stage starting from the
    highest-loss point of the last, projected onto its ball; only the last
    stage, at `eps`, counts.
    """

    def loss_and_grad(z):
        def total(z):
            logits, loss = expected_loss(forward, z, loss_fn, eot_samples)
            return ops.sum(loss), (loss, logits)

        (_, (loss, logits)), grad = backend.value_and_grad(total, z, has_aux=True)
        return loss, success_fn(logits), grad

    if not large_eps:
        s = _apgd_loop(loss_and_grad, x, x_start, eps, norm, steps, sparsity_from_start=False)
    else:
        for factor, stage_steps in large_eps_schedule(steps):
            x_start = projections.project(x_start, x, factor * eps, norm)
            s = _apgd_loop(
                loss_and_grad, x, x_start, factor * eps, norm, stage_steps, sparsity_from_start=True
            )
            x_start = s["x_best"]
    each = lambda v: selection.per_example(v, x)  # noqa: E731
    return ops.where(each(s["ok"]), s["x_ok"], s["x_best"]), s["loss_best"], s["ok"]


def _apgd_loop(loss_and_grad, x, x_start, eps, norm, steps, sparsity_from_start):
    """APGD's iterations from `x_start`; returns its final state.

    L-inf and L2 take momentum steps and halve the step size on the
    `checkpoints` schedule. L1 takes `sparse_step`s without momentum and,
    every `l1_checkpoints` period, sets the sparsity `topk` to that of the
    best point over 1.5; where that sparsity fell by more than 5% it resets
    the step size to eps and restarts from the best point, elsewhere it
    divides the step by 1.5 (never below eps / 10). `topk` starts at 0.2, or,
    with `sparsity_from_start`, at the start's sparsity over 1.5.
    """
    l1 = norm == "l1"
    points = l1_checkpoints(steps) if l1 else checkpoints(steps)
    # Per-iteration tables: is iteration i a checkpoint, and how long was its period.
    is_check = [False] * steps
    period = [0.0] * steps
    previous = 0
    for w in points:
        is_check[w - 1], period[w - 1] = True, float(w - previous)
        previous = w
    is_check = ops.convert_to_tensor(is_check)
    period = ops.convert_to_tensor(period, dtype=x.dtype)

    def each(mask):
        return selection.per_example(mask, x)

    loss0, ok0, grad0 = loss_and_grad(x_start)
    n = ops.shape(x)[0]
    size = float(math.prod(x.shape[1:]))
    if sparsity_from_start:
        sparsity0 = _sparsity(x_start - x)
        topk0 = sparsity0 / size / 1.5
    else:
        sparsity0 = ops.full((n,), size, dtype=x.dtype)
        topk0 = ops.full((n,), 0.2, dtype=x.dtype)
    step0 = (1.0 if l1 else INITIAL_STEP) * eps
    state = dict(
        x_adv=x_start,
        x_prev=x_start,
        grad=grad0,
        loss_prev=loss0,
        step=ops.full((n,), step0, dtype=x.dtype),
        increases=ops.zeros((n,), dtype=x.dtype),
        x_best=x_start,
        grad_best=grad0,
        loss_best=loss0,
        x_ok=x_start,
        ok=ok0,
        loss_best_at_check=loss0,
        halved_at_check=ops.ones((n,), dtype="bool"),
        topk=topk0,
        sparsity_at_check=sparsity0,
    )

    def body(i, s):
        if l1:
            x_new = projections.project(
                s["x_adv"] + each(s["step"]) * sparse_step(s["grad"], s["topk"]), x, eps, norm
            )
        else:
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
        at_check = ops.take(is_check, i)
        topk, sparsity_at_check = s["topk"], s["sparsity_at_check"]

        if l1:
            # Checkpoint: follow the best point's sparsity; restart where it fell.
            sparsity = _sparsity(x_best - x)
            restart = ops.logical_and(at_check, sparsity / sparsity_at_check < 0.95)
            step = ops.where(restart, eps, s["step"] / 1.5)
            step = ops.where(at_check, ops.clip(step, eps / 10.0, eps), s["step"])
            topk = ops.where(at_check, sparsity / size / 1.5, topk)
            sparsity_at_check = ops.where(at_check, sparsity, sparsity_at_check)
        else:
            # Checkpoint: halve the step where either condition holds.
            oscillating = ops.less_equal(increases, RHO * ops.take(period, i))
            stalled = ops.logical_and(
                ops.logical_not(s["halved_at_check"]),
                ops.greater_equal(s["loss_best_at_check"], loss_best),
            )
            restart = ops.logical_and(at_check, ops.logical_or(oscillating, stalled))
            step = ops.where(restart, 0.5 * s["step"], s["step"])
        return dict(
            x_adv=ops.where(each(restart), x_best, x_new),
            x_prev=s["x_adv"],
            grad=ops.where(each(restart), grad_best, grad),
            loss_prev=loss,
            step=step,
            increases=ops.where(at_check, ops.zeros_like(increases), increases),
            x_best=x_best,
            grad_best=grad_best,
            loss_best=loss_best,
            x_ok=x_ok,
            ok=ok,
            loss_best_at_check=ops.where(at_check, loss_best, s["loss_best_at_check"]),
            halved_at_check=ops.where(at_check, restart, s["halved_at_check"]),
            topk=topk,
            sparsity_at_check=sparsity_at_check,
        )

    return ops.fori_loop(0, steps, body, state)


def _check_large_eps(large_eps, norm, steps):
    """`large_eps` as a bool; it is defined at L1 only, where each stage gets a step."""
    if large_eps and norm != "l1":
        raise ValueError(
            f"`large_eps` is L1-APGD's budget schedule; use it with norm='l1'. "
            f"Received: large_eps={large_eps!r}, norm={norm!r}"
        )
    if large_eps and large_eps_schedule(steps)[-1][1] < 1:
        raise ValueError(
            "`steps` must leave every stage of the large_eps schedule a step "
            f"(3, 5 or more). Received: steps={steps!r}"
        )
    return bool(large_eps)


class APGD(Attack):
    """APGD with cross-entropy or DLR loss (APGD-CE / APGD-DLR of AutoAttack).

    Args:
        eps: budget in the [0, 1] pixel scale.
        norm: `"linf"`, `"l2"` or `"l1"` (the sparse L1 step, see the module
            docstring).
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
        large_eps: L1 only: spread the steps over budgets 3, 2 and 1 times
            `eps` (`large_eps_schedule`), the reference's `use_largereps`, as
            in AutoAttack's standard L1 version; needs `steps >= 3`.

    Example:
        >>> x_adv = APGD(eps=8 / 255, loss="ce")(model, x, y)  # doctest: +SKIP
        >>> x_adv = APGD(eps=0.5, norm="l2", loss="dlr")(model, x, y)  # doctest: +SKIP

    Reference:
        Croce & Hein, "Reliable evaluation of adversarial robustness with an
        ensemble of diverse parameter-free attacks", ICML 2020.
    """

    norms = NORMS

    def __init__(
        self,
        eps=8 / 255,
        norm="linf",
        steps=100,
        restarts=1,
        loss="ce",
        targeted=False,
        seed=None,
        eot_samples=1,
        large_eps=False,
        **kwargs,
    ):
        super().__init__(eps, norm=norm, seed=seed, **kwargs)
        self.eot_samples = check_int("eot_samples", eot_samples)
        self.steps = check_int("steps", steps)
        self.restarts = check_int("restarts", restarts)
        self.large_eps = _check_large_eps(large_eps, norm, steps)
        self.loss_fn = losses.get(loss, targeted)
        self.loss = loss
        self.targeted = bool(targeted)

    def perturb(self, forward, x, y):
        starts = ops.stack(
            [
                apgd_start(x, self.eps, self.norm, self.seed_generator, self.large_eps)
                for _ in range(self.restarts)
            ]
        )

        def run(i):
            return apgd_run(
                forward,
                x,
                ops.take(starts, i, axis=0),
                lambda logits: self.loss_fn(logits, y),
                lambda logits: selection.success(logits, y, self.targeted),
                self.eps,
                self.norm,
                self.steps,
                self.eot_samples,
                self.large_eps,
            )

        return ops.stop_gradient(selection.best_of(self.restarts, run)[0])

    def get_config(self):
        return {
            **super().get_config(),
            "steps": self.steps,
            "restarts": self.restarts,
            "loss": self.loss,
            "targeted": self.targeted,
            "eot_samples": self.eot_samples,
            "large_eps": self.large_eps,
        }


class APGDT(Attack):
    """APGD-T of AutoAttack: targeted DLR towards each of the top other classes.

    `y` are the *true* labels. For each of the `n_target_classes` classes the
    model ranks highest after the prediction on the clean images, APGD ascends
    the targeted DLR loss towards it; an example counts as broken as soon as
    it is misclassified (any class), and the first such example is returned.
    Called as `attack(model, x, y)`, it runs one target and restart at a time
    and gives each run only the points no run has fooled yet, as AutoAttack
    does (`tfrobust.attacks.per_target`); `perturb`, for compiled code, gives
    every run every point, to the same result.

    Args:
        eps: budget in the [0, 1] pixel scale.
        norm: `"linf"`, `"l2"` or `"l1"`.
        steps: iterations per target and restart (100 in AutoAttack).
        restarts: random starts per target class (1 in AutoAttack).
        n_target_classes: how many target classes to try (9 in AutoAttack,
            i.e. all others on 10-class data; 5 in its standard L1 version);
            needs n_target_classes + 1 classes.
        seed: seed of the random starts.
        large_eps: L1 only: the budget schedule of `APGD(large_eps=True)`.

    Example:
        >>> x_adv = APGDT(eps=8 / 255)(model, x, y)  # doctest: +SKIP
    """

    norms = NORMS

    def __init__(
        self,
        eps=8 / 255,
        norm="linf",
        steps=100,
        restarts=1,
        n_target_classes=9,
        seed=None,
        large_eps=False,
        **kwargs,
    ):
        super().__init__(eps, norm=norm, seed=seed, **kwargs)
        self.steps = check_int("steps", steps)
        self.restarts = check_int("restarts", restarts)
        self.n_target_classes = check_int("n_target_classes", n_target_classes)
        self.large_eps = _check_large_eps(large_eps, norm, steps)

    def random_start(self, forward, x):
        """The random start of one run, for every point of `x`."""
        del forward
        return apgd_start(x, self.eps, self.norm, self.seed_generator, self.large_eps)

    def run_target(self, forward, x, y, target, start):
        """One APGD run from `start` towards `target`: `(x_adv, loss, success)` per point."""
        return apgd_run(
            forward,
            x,
            start,
            lambda logits: losses.targeted_dlr(logits, target, y),
            lambda logits: selection.success(logits, y),
            self.eps,
            self.norm,
            self.steps,
            large_eps=self.large_eps,
        )

    def perturb(self, forward, x, y):
        targets = selection.target_classes(forward(x), y, self.n_target_classes)
        n_runs = self.n_target_classes * self.restarts
        starts = ops.stack([self.random_start(forward, x) for _ in range(n_runs)])

        def run(i):
            target = ops.take(targets, i // self.restarts, axis=1)
            return self.run_target(forward, x, y, target, ops.take(starts, i, axis=0))

        return ops.stop_gradient(selection.best_of(n_runs, run)[0])

    def __call__(self, model, x, y):
        """Attack `model` one target (and restart) at a time, each run only on the
        points no run has fooled yet, as AutoAttack does (`per_target`)."""
        return per_target.attack_per_target(self, model, x, y)

    def get_config(self):
        return {
            **super().get_config(),
            "steps": self.steps,
            "restarts": self.restarts,
            "n_target_classes": self.n_target_classes,
            "large_eps": self.large_eps,
        }
