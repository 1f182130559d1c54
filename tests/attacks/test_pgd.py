"""PGD: argument checks, restarts, targeted mode and its sanity on a small robust MNIST CNN."""

import keras
import numpy as np
import pytest
from keras import ops

from tfrobust.attacks import PGD
from tfrobust.attacks import selection


def accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, verbose=0), -1) == y))


@pytest.mark.jax
@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(eps=8), "Received: eps=8"),
        (dict(norm="l1"), "Received: norm='l1'"),
        (dict(steps=0), "Received: steps=0"),
        (dict(step_size=-1.0), "Received: step_size=-1.0"),
        (dict(restarts=2, random_start=False), "Received: restarts=2"),
        (dict(loss="xent"), "Received: loss='xent'"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PGD(**kwargs)


@pytest.mark.jax
def test_keep_best_prefers_first_success_then_highest_loss():
    x_old = np.zeros((3, 1, 1, 1), "float32")
    x_new = np.ones((3, 1, 1, 1), "float32")
    best = (x_old, np.array([1.0, 5.0, 1.0], "float32"), np.array([True, False, False]))
    new = (x_new, np.array([9.0, 2.0, 2.0], "float32"), np.array([True, True, False]))
    x, loss, ok = (ops.convert_to_numpy(t) for t in selection.keep_best(best, new))
    # Example 0 already succeeded; 1 succeeds now (despite a lower loss); 2 has a higher loss.
    np.testing.assert_array_equal(x.ravel(), [0, 1, 1])
    np.testing.assert_array_equal(loss, [1, 2, 2])
    np.testing.assert_array_equal(ok, [True, True, False])


@pytest.mark.jax
def test_zero_budget_returns_the_input():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    x = np.random.default_rng(0).uniform(size=(2, 4, 4, 1)).astype("float32")
    x_adv = PGD(eps=0.0, step_size=0.1, steps=2, seed=0)(model, x, np.array([0, 1]))
    np.testing.assert_array_equal(np.asarray(x_adv), x)


@pytest.mark.jax
def test_restarts_never_do_worse(mnist_model, mnist_test):
    x, y = mnist_test
    one = PGD(0.3, step_size=0.05, steps=5, seed=0, unroll=False)(mnist_model, x, y)
    three = PGD(0.3, step_size=0.05, steps=5, restarts=3, seed=0, unroll=False)(mnist_model, x, y)
    assert accuracy(mnist_model, three, y) <= accuracy(mnist_model, one, y) + 0.01


@pytest.mark.jax
@pytest.mark.parametrize("loss", ["ce", "dlr"])
def test_targeted_reaches_targets(mnist_model, mnist_test, loss):
    x, y = mnist_test
    target = (y + 1) % 10
    x_adv = PGD(0.5, step_size=0.05, steps=20, loss=loss, targeted=True, seed=0, unroll=False)(
        mnist_model, x, target
    )
    hit = np.argmax(mnist_model.predict(np.asarray(x_adv), verbose=0), -1) == target
    assert hit.mean() > 0.9


@pytest.mark.jax
def test_accuracy_falls_with_eps_and_vanishes_at_half(mnist_model, mnist_test):
    x, y = mnist_test
    accs = [
        accuracy(
            mnist_model,
            np.asarray(
                PGD(eps, step_size=max(eps, 1e-3) / 8, steps=20, seed=0, unroll=False)(
                    mnist_model, x, y
                )
            ),
            y,
        )
        for eps in (0.0, 0.1, 0.2, 0.3, 0.5)
    ]
    print("PGD-20 accuracy at eps 0, 0.1, 0.2, 0.3, 0.5:", accs)
    assert accs[0] == accuracy(mnist_model, x, y) and accs[0] > 0.85
    assert all(a >= b for a, b in zip(accs, accs[1:]))
    assert accs[-1] <= 0.02


@pytest.mark.jax
@pytest.mark.parametrize("loss", ["cw"])
def test_l2_attack_breaks_model(mnist_model, mnist_test, loss):
    x, y = mnist_test
    x_adv = PGD(4.0, step_size=0.5, steps=20, norm="l2", loss=loss, seed=0, unroll=False)(
        mnist_model, x, y
    )
    assert accuracy(mnist_model, np.asarray(x_adv), y) < 0.2


@pytest.mark.jax
def test_one_compiled_attack_serves_several_batch_sizes():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    attack = PGD(eps=1.0, step_size=0.5, steps=2, norm="l2", restarts=2, seed=0)
    for n in (2, 3, 5):
        x = np.random.default_rng(n).uniform(size=(n, 4, 4, 1)).astype("float32")
        assert np.asarray(attack(model, x, np.zeros(n, "int32"))).shape == x.shape


@pytest.mark.jax
def test_unrolled_and_looped_steps_agree():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    x = np.random.default_rng(0).uniform(size=(4, 4, 4, 1)).astype("float32")
    y = np.array([0, 1, 2, 0], "int32")
    runs = [
        PGD(0.1, step_size=0.03, steps=4, random_start=False, unroll=u)(model, x, y)
        for u in (True, False)
    ]
    np.testing.assert_allclose(np.asarray(runs[0]), np.asarray(runs[1]), atol=1e-6)
