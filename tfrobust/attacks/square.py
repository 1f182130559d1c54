"""Square attack (Andriushchenko et al. 2020): random search on the model's scores.

Square never asks for a gradient: it only reads logits, so it still works where
gradients are masked (rounding, non-differentiable preprocessing), which is why
AutoAttack runs it last, as a check on the white-box attacks. Each query
changes one random square window of every image to a vertex of the eps-ball
and keeps the change only if the margin loss went down. The window's side
shrinks on AutoAttack's schedule of `p`, the fraction of pixels changed.
"""

import math

import keras
import numpy as np
from keras import ops

from tfrobust import backend
from tfrobust import validation
from tfrobust.argument_validation import NORMS
from tfrobust.argument_validation import check_choice
from tfrobust.argument_validation import check_int
from tfrobust.argument_validation import check_number
from tfrobust.attacks import batching
from tfrobust.attacks import losses
from tfrobust.attacks import square_l1
from tfrobust.attacks import square_l2
from tfrobust.attacks.base import Attack

# Iterations (rescaled to a 10,000-query budget) after which `p` halves again.
P_SCHEDULE = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)
# Random sign vectors tried per query before falling back to flipping the first.
_REDRAWS = 8
# The proposals of the norms whose windows hold patterns rather than vertices.
_PATTERNS = {"l2": square_l2, "l1": square_l1}


def margin(logits, y):
    """Per-example `logit[y] - max_{j != y} logit[j]`; negative means fooled."""
    return -losses.cw_margin(logits, y)


def p_fraction(iteration, n_queries, p_init):
    """AutoAttack's schedule: `p_init` halved at each threshold of `P_SCHEDULE`.

    `iteration` may be a Python number or a tensor; the schedule is stated for
    10,000 queries and rescaled to `n_queries`.
    """
    it = ops.floor(ops.cast(iteration, "float32") / n_queries * 10000.0)
    halvings = sum(ops.cast(it > t, "float32") for t in P_SCHEDULE)
    return p_init / ops.power(2.0, halvings)


class Square(Attack):
    """Score-based Square attack, L-inf, L2 or L1, untargeted, margin loss.

    Args:
        eps: budget in the [0, 1] pixel scale.
        n_queries: queries per image (the initial point counts as one).
        p_init: initial fraction of pixels changed per query (0.8 in
            AutoAttack's standard version, for both norms), halved on
            AutoAttack's schedule.
        loss: `"margin"` (AutoAttack's default) or `"ce"` (minimise `-CE`).
        norm: `"linf"` (windows set to vertices of the eps-ball) or `"l2"`
            (ring-shaped windows moved around, `square_l2`) or `"l1"` (the
            same with L1 patterns and masses, projected onto the L1 ball in
            the box, `square_l1`); L2 and L1 need images of at least 5 x 5
            pixels.
        seed: seed of the attack's random search.

    Call arguments (via `Attack.__call__`): a Keras model taking [0, 1] images,
    images `x` (N, H, W, C) and integer labels `y`. The search runs as a Python
    loop over a compiled query step and stops as soon as every image is
    misclassified; images already misclassified are returned unchanged.
    `perturb(forward, x, y)` runs the same steps in one `fori_loop`, without
    the early stop, for use inside compiled code.

    Example:
        >>> x_adv = Square(eps=8 / 255, n_queries=5000, seed=0)(model, x, y)  # doctest: +SKIP
        >>> x_adv, queries = Square(eps=8 / 255).run(model, x, y)  # doctest: +SKIP

    Reference:
        Andriushchenko, Croce, Flammarion, Hein. "Square Attack: a query-efficient
        black-box adversarial attack via random search", ECCV 2020.
    """

    norms = NORMS

    def __init__(
        self, eps, n_queries=5000, p_init=0.8, loss="margin", norm="linf", seed=None, **kwargs
    ):
        super().__init__(eps, norm=norm, seed=seed, **kwargs)
        self.n_queries = check_int("n_queries", n_queries)
        self.p_init = check_number("p_init", p_init, minimum=0, maximum=1, exclusive_minimum=True)
        self.loss = check_choice("loss", loss, ("margin", "ce"))

    # -- the maths, shared by `perturb` and `run` --------------------------------

    def _loss(self, logits, y):
        if self.loss == "margin":
            return margin(logits, y)
        return -losses.cross_entropy(logits, y)

    def init_state(self, forward, x, y):
        """Start from vertical stripes of +-eps (L-inf), or a grid of patterns (L2, L1).

        Returns `(x_best, margin_best, loss_best, queries)`; images the model
        already misclassifies keep `x` and are never queried again. The first
        forward pass (the clean prediction) is not counted as a query.
        """
        logits = forward(x)
        margin_clean, loss_clean = margin(logits, y), self._loss(logits, y)
        batch, height, width, channels = ops.shape(x)
        if self.norm in _PATTERNS:
            if min(height, width) < 5:
                raise ValueError(
                    f"The {self.norm.upper()} Square attack needs images of at least 5 x 5 "
                    f"pixels. Received: {height} x {width}"
                )
            x_init = _PATTERNS[self.norm].initial(x, self.eps, self.seed_generator)
        else:
            signs = square_l2.random_signs((batch, 1, width, channels), self.seed_generator)
            stripes = self.eps * signs
            x_init = ops.clip(x + stripes, 0.0, 1.0)
        logits_init = forward(x_init)
        attacked = margin_clean > 0
        x_best = ops.where(attacked[:, None, None, None], x_init, x)
        margin_best = ops.where(attacked, margin(logits_init, y), margin_clean)
        loss_best = ops.where(attacked, self._loss(logits_init, y), loss_clean)
        queries = ops.where(attacked, 1.0, 0.0)
        return x_best, margin_best, loss_best, queries

    def step(self, forward, x, y, x_best, margin_best, loss_best, queries, iteration):
        """One query for every image not yet fooled (`margin_best > 0`)."""
        active = margin_best > 0
        p = p_fraction(iteration, self.n_queries, self.p_init)
        if self.norm in _PATTERNS:
            x_new = _PATTERNS[self.norm].propose(x, x_best, p, self.eps, self.seed_generator)
        else:
            x_new = self._propose_linf(x, x_best, p)
        logits = forward(x_new)
        margin_new, loss_new = margin(logits, y), self._loss(logits, y)
        improved = active & (loss_new < loss_best)
        x_best = ops.where(improved[:, None, None, None], x_new, x_best)
        margin_best = ops.where(improved, margin_new, margin_best)
        loss_best = ops.where(improved, loss_new, loss_best)
        queries = queries + ops.cast(active, "float32")
        return x_best, margin_best, loss_best, queries

    def _propose_linf(self, x, x_best, p):
        """A random window of every image set to a random vertex of the eps-ball."""
        batch, height, width, channels = ops.shape(x)
        side = ops.round(ops.sqrt(p * height * width))
        side = ops.clip(side, 1.0, float(min(height, width) - 1))
        window, _, _ = square_l2.random_window(batch, side, height, width, self.seed_generator)

        # The window becomes a vertex of the eps-ball, one sign per channel; a
        # sign vector that would change nothing (the window is already there)
        # is redrawn, as in the reference implementation. The last resort,
        # -signs[0], always changes something. The loop stops as soon as every
        # image has its change: usually after the first draw.
        signs = square_l2.random_signs((_REDRAWS, batch, 1, 1, channels), self.seed_generator)
        signs = ops.concatenate([signs, -signs[:1]])

        def redraw(r, x_new, found):
            sign = ops.take(signs, r, axis=0)
            candidate = ops.where(window, ops.clip(x + self.eps * sign, 0.0, 1.0), x_best)
            changed = ops.max(ops.abs(candidate - x_best), axis=(1, 2, 3)) > 1e-7
            take = changed & ~found
            return r + 1, ops.where(take[:, None, None, None], candidate, x_new), found | changed

        def some_left(r, _, found):
            return (r <= _REDRAWS) & ~ops.all(found)

        start = (ops.convert_to_tensor(0, "int32"), x_best, ops.zeros((batch,), dtype="bool"))
        return ops.while_loop(some_left, redraw, start)[1]

    def perturb(self, forward, x, y):
        state = self.init_state(forward, x, y)
        # The seed generator's state travels through the loop as a value: a
        # variable assigned inside a traced JAX loop body would leak a tracer.
        seed_var = self.seed_generator.state

        def body(i, carry):
            with keras.StatelessScope(state_mapping=[(seed_var, carry[-1])]) as scope:
                new_state = self.step(forward, x, y, *carry[:-1], i)
            return (*new_state, scope.get_current_value(seed_var))

        carry = ops.fori_loop(1, self.n_queries, body, (*state, seed_var.value))
        seed_var.assign(carry[-1])
        return ops.stop_gradient(carry[0])

    # -- the eager driver: early stop and a shrinking batch ------------------------

    def run(self, model, x, y):
        """Attack `model`; return `(x_adv, queries)` as NumPy arrays.

        `queries[i]` counts the model evaluations spent on image `i`. The query
        step is compiled once per model and batch size; batches are padded to
        a few sizes (`batching.padded_size`; padding rows are never attacked)
        and compacted to the images still to fool when at most a quarter remain, so few sizes, and
        few compilations, occur across calls.
        """
        x, y = validation.check_batch(model, x, y)
        y = y.astype("int32")
        init, step = self._steps_for(model)
        rows = batching.pad_index(np.arange(len(x)))
        values = [keras.ops.convert_to_numpy(t) for t in init(x[rows], y[rows])]
        x_best, margin_best, loss_best, queries = (v[: len(x)].copy() for v in values)
        todo = np.flatnonzero(margin_best > 0)
        iteration, state, rows = 1, None, None
        while todo.size and iteration < self.n_queries:
            if state is None:
                rows = batching.pad_index(todo)
                state = [
                    x[rows],
                    y[rows],
                    x_best[rows],
                    margin_best[rows].copy(),
                    loss_best[rows],
                    queries[rows],
                ]
                state[3][len(todo) :] = -1.0  # padding rows count as fooled: never attacked
                state = [keras.ops.convert_to_tensor(s) for s in state]  # copied in once
            out = step(*state, np.float32(iteration))
            state[2:] = out
            iteration += 1
            still = keras.ops.convert_to_numpy(out[1])[: len(todo)] > 0
            done = not still.any() or iteration >= self.n_queries
            if done or (still.sum() <= len(rows) // 4 and self.n_queries - iteration >= 50):
                values = [keras.ops.convert_to_numpy(t)[: len(todo)] for t in out]
                x_best[todo], margin_best[todo], loss_best[todo], queries[todo] = values
                todo, state = todo[still], None
        return x_best, queries

    def __call__(self, model, x, y):
        return self.run(model, x, y)[0]

    def _steps_for(self, model):
        if model not in self._compiled:
            state = [self.seed_generator.state]
            self._compiled[model] = (
                backend.compile_model_fn(model, self.init_state, state=state),
                backend.compile_model_fn(model, self.step, state=state),
            )
        return self._compiled[model]

    def get_config(self):
        return {
            **super().get_config(),
            "n_queries": self.n_queries,
            "p_init": self.p_init,
            "loss": self.loss,
        }


def expected_side(iteration, n_queries, p_init, height, width):
    """Side of the square window at `iteration` (for tests and docs)."""
    p = float(p_fraction(iteration, n_queries, p_init))
    side = round(math.sqrt(p * height * width))
    return int(min(max(side, 1), min(height, width) - 1))
