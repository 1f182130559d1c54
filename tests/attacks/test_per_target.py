"""APGD-T and FAB-T run target by target on the points not yet fooled, as AutoAttack does.

Through `attack(model, x, y)`: a fooled point gets no further run, every point
ends as the all-points computation (`perturb`, compiled by `Attack.__call__`)
leaves it, and a shrinking batch does not mean a compilation per size.
"""

import keras
import numpy as np
import pytest

from tfrobust.attacks import batching
from tfrobust.attacks import per_target
from tfrobust.attacks.apgd import APGDT
from tfrobust.attacks.base import Attack
from tfrobust.attacks.fab import FABT
from tfrobust.attacks.protocol import predict_labels

pytestmark = pytest.mark.jax

# Each attack fools some points at its first run, some at later runs, and not all.
ATTACKS = {
    "apgd-t": lambda: APGDT(0.1, steps=3, n_target_classes=3, restarts=2, seed=0),
    "apgd-t-l1": lambda: APGDT(1.0, norm="l1", steps=3, n_target_classes=3, large_eps=True, seed=1),
    "fab-t": lambda: FABT(0.1, steps=3, n_target_classes=4),
    "fab-t-l2": lambda: FABT(0.4, norm="l2", steps=10, n_target_classes=4),
}


def mlp_and_batch(n, seed=0):
    """A ReLU classifier of 4 x 4 images with NumPy-drawn weights (the same on every
    backend), `n` uniform points and its own labels."""
    model = keras.Sequential(
        [
            keras.Input((4, 4, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    rng = np.random.default_rng(seed)
    scales = (0.5, 0.1, 0.5, 0.1)  # kernel, bias, kernel, bias
    model.set_weights(
        [rng.normal(scale=s, size=w.shape).astype("float32") for w, s in zip(model.weights, scales)]
    )
    x = rng.uniform(0, 1, (n, 4, 4, 1)).astype("float32")
    return model, x, predict_labels(model, x)


def record_runs(monkeypatch):
    """Record `(run, points given, which it fooled)` for every run of `attack_per_target`."""
    runs, real = [], per_target.keep_first_success

    def spy(n_runs, run, x):
        def recorded(i, index):
            out = run(i, index)
            runs.append((i, index.copy(), keras.ops.convert_to_numpy(out[2])[: index.size]))
            return out

        return real(n_runs, recorded, x)

    monkeypatch.setattr(per_target, "keep_first_success", spy)
    return runs


@pytest.mark.parametrize("name", ATTACKS)
def test_a_fooled_point_is_not_attacked_again(name, monkeypatch):
    model, x, y = mlp_and_batch(20)
    runs = record_runs(monkeypatch)
    x_adv = np.asarray(ATTACKS[name]()(model, x, y))
    np.testing.assert_array_equal(runs[0][1], np.arange(len(x)))
    for (_, index, fooled), (_, next_index, _) in zip(runs, runs[1:]):
        np.testing.assert_array_equal(next_index, index[~fooled])
    assert 0 < runs[0][2].sum() < len(x)  # the first run fools some points, not all
    assert any(fooled.any() for _, _, fooled in runs[1:])  # and so do later ones
    # The points each run fooled are fooled in the result.
    fooled = np.concatenate([index[ok] for _, index, ok in runs])
    assert (predict_labels(model, x_adv[fooled]) != y[fooled]).all()


@pytest.mark.parametrize("name", ATTACKS)
def test_same_examples_as_attacking_every_point_every_run(name):
    # The same seed, so the same targets and random starts: only the wasted runs go.
    model, x, y = mlp_and_batch(20)
    new = np.asarray(ATTACKS[name]()(model, x, y))
    old = np.asarray(keras.ops.convert_to_numpy(Attack.__call__(ATTACKS[name](), model, x, y)))
    np.testing.assert_allclose(new, old, atol=1e-6)
    robust = predict_labels(model, new) == y
    assert 0 < robust.mean() < 1
    np.testing.assert_array_equal(robust, predict_labels(model, old) == y)


@pytest.mark.parametrize("name", ["apgd-t", "fab-t"])
def test_a_shrinking_batch_does_not_compile_per_size(name, backend, monkeypatch):
    model, x, y = mlp_and_batch(40)
    attack, traced = ATTACKS[name](), []
    run_target = attack.run_target

    def counted(forward, x, *args):
        traced.append(x.shape[0])  # Python runs only while tracing
        return run_target(forward, x, *args)

    attack.run_target = counted
    runs = record_runs(monkeypatch)
    for n in (40, 33, 17):  # several calls, as an evaluation's batches make
        attack(model, x[:n], y[:n])
    sizes = {batching.padded_size(index.size) for _, index, _ in runs}
    assert len(sizes) >= 4  # the runs saw many batch sizes
    if backend == "tensorflow":
        assert len(traced) <= 2  # a `None` batch dimension from the second size on
    else:
        assert len(traced) == len(sizes)  # one compilation per padded size, no more
