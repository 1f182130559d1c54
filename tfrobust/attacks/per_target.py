"""Targeted attacks one run at a time, each on the points not yet fooled, as AutoAttack runs them.

The reference's APGD-T and FAB-T (`APGDAttack_targeted.perturb`,
`FABAttack.perturb`) loop over target classes (and restarts) on the host and
give each run only the points still robust: a point fooled towards its first
target costs nothing for the other eight. `attack_per_target` is that loop
behind `APGDT(...)(model, x, y)` and `FABT(...)(model, x, y)`; their
`perturb`, for use inside compiled code, still gives every run every point.

Both compute the same per point. The targets come from the clean logits of
the whole batch (`selection.target_classes`); each run's random start is
drawn for the whole batch, padded as `Attack.__call__` pads it, from the
attack's seed generator in the same order; and each point keeps its first
successful run, else its highest-loss one (`selection.keep_best`). A point
fooled at run i is just never given run i + 1.

Each run is one compiled function of the points still to attack, a number
that shrinks from run to run. Those points are padded to a few sizes per
doubling (`batching.padded_size`), as `Attack.__call__` and `Square.run`
pad theirs: JAX and XLA compile once per shape, so padding bounds the
compilations, and TensorFlow without XLA traces the function again with a
`None` batch dimension at its second size (`reduce_retracing`), then never.
"""

import keras
import numpy as np

from tfrobust import backend
from tfrobust import validation
from tfrobust.attacks import batching
from tfrobust.attacks import selection


def keep_first_success(n_runs, run, x):
    """Per point, the first successful `run(i, index)`, else the highest-loss one, as NumPy.

    `run(i, index)` attacks the points `index` of `x` (at least as many rows,
    the first `len(index)` of which count) and returns `(x_adv, loss,
    success)`; run 0 gets every point, run i > 0 only those no run has fooled
    yet. The merge is `selection.keep_best`'s, with run 0 as the first best.
    Returns the merged `(x_adv, loss, success)`.
    """
    best_x, best_loss, best_ok = x.copy(), np.zeros(len(x), "float32"), np.zeros(len(x), bool)
    for i in range(n_runs):
        index = np.flatnonzero(~best_ok)
        if not index.size:
            break
        out = [keras.ops.convert_to_numpy(t)[: index.size] for t in run(i, index)]
        cand_x, cand_loss, cand_ok = out
        take = np.ones(index.size, bool) if i == 0 else cand_ok | (cand_loss > best_loss[index])
        best_x[index[take]] = cand_x[take]
        best_loss[index[take]] = cand_loss[take]
        best_ok[index] = cand_ok
    return best_x, best_loss, best_ok


def attack_per_target(attack, model, x, y):
    """`attack(model, x, y)` for APGD-T or FAB-T, run by run on the points not yet fooled.

    `attack` has `n_target_classes`, optionally `restarts` (per target, 1 if
    absent), `run_target(forward, x, y, target, start) -> (x_adv, loss,
    success)` for one run, and `random_start(forward, x)`, the start of a run
    for every point, or `random_start = None` to start from `x`. Run i aims at
    target `i // restarts`. Returns the adversarial images as NumPy.
    """
    x, y = validation.check_batch(model, x, y)
    y = y.astype("int32")
    n = len(x)
    targets_of, start_of, run_target = _compiled(attack, model)
    rows = batching.pad_index(np.arange(n))  # the whole batch, padded as `Attack.__call__` does
    x_all = keras.ops.convert_to_tensor(x[rows])
    targets = keras.ops.convert_to_numpy(targets_of(x_all, keras.ops.convert_to_tensor(y[rows])))
    restarts = getattr(attack, "restarts", 1)

    def run(i, index):
        # Drawn for the whole batch even when a few points remain: each point's start
        # is then the one `perturb` would give it.
        start = x if start_of is None else keras.ops.convert_to_numpy(start_of(x_all))
        padded = batching.pad_index(index)
        args = (x[padded], y[padded], targets[padded, i // restarts], start[padded])
        return run_target(*(keras.ops.convert_to_tensor(a) for a in args))

    return keep_first_success(attack.n_target_classes * restarts, run, x)[0]


def _compiled(attack, model):
    """The attack's compiled `(targets, random start or None, one run)` for `model`."""
    if model not in attack._compiled:

        def targets(forward, x, y):
            return selection.target_classes(forward(x), y, attack.n_target_classes)

        start = attack.random_start
        attack._compiled[model] = (
            backend.compile_model_fn(model, targets),
            None
            if start is None
            else backend.compile_model_fn(model, start, state=[attack.seed_generator.state]),
            backend.compile_model_fn(model, attack.run_target),
        )
    return attack._compiled[model]
