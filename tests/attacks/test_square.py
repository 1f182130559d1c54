"""Square attack (L-inf and L2): valid images in the ball, scores only, AutoAttack's schedule."""

import keras
import numpy as np
import pytest
from keras import ops

from tfrobust import backend
from tfrobust.attacks.pgd import PGD
from tfrobust.attacks.protocol import predict_labels
from tfrobust.attacks.square import Square
from tfrobust.attacks.square import expected_side
from tfrobust.attacks.square import p_fraction
from tfrobust.attacks.square_l2 import window_pattern


class Quantize(keras.layers.Layer):
    """Rounds pixels to 4 levels: the input gradient is exactly zero everywhere.

    (`+ 0 * x` keeps the output connected to the input, so gradients are zeros
    rather than `None`.)
    """

    def call(self, x):
        return ops.stop_gradient(ops.round(x * 3.0) / 3.0) + 0.0 * x


def linear_model(shape=(8, 8, 1), quantize=False, seed=0):
    keras.utils.set_random_seed(seed)
    layers = [keras.Input(shape)] + ([Quantize()] if quantize else [])
    layers += [keras.layers.Flatten(), keras.layers.Dense(10)]
    return keras.Sequential(layers)


def batch(model, n=32, shape=(8, 8, 1), seed=0):
    x = np.random.default_rng(seed).uniform(0, 1, (n, *shape)).astype("float32")
    return x, predict_labels(model, x)


@pytest.mark.jax
def test_outputs_are_images_in_the_ball():
    model = linear_model(shape=(8, 8, 3))
    x, y = batch(model, shape=(8, 8, 3))
    y[:4] = (y[:4] + 1) % 10  # four points already misclassified
    x_adv, queries = Square(eps=0.03, n_queries=40, seed=0).run(model, x, y)
    assert x_adv.shape == x.shape and x_adv.dtype == np.float32
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert np.abs(x_adv - x).max() <= 0.03 + 1e-6
    np.testing.assert_array_equal(x_adv[:4], x[:4])  # never attacked
    assert (queries[:4] == 0).all() and (queries <= 40).all() and queries[4:].min() >= 1


@pytest.mark.jax
def test_fools_a_model_with_zero_gradients_where_pgd_fails():
    model = linear_model(quantize=True)
    x, y = batch(model, n=48)
    pgd = PGD(eps=0.3, step_size=0.05, steps=10, seed=0)
    grads = backend.compile_model_fn(
        model, lambda f, z: backend.input_grad(lambda v: ops.sum(f(v)), z)
    )(x)
    assert np.all(keras.ops.convert_to_numpy(grads) == 0)
    pgd_acc = (predict_labels(model, np.asarray(pgd(model, x, y))) == y).mean()
    x_adv = Square(eps=0.3, n_queries=200, seed=0)(model, x, y)
    square_acc = (predict_labels(model, x_adv) == y).mean()
    assert pgd_acc > 0.7  # zero gradients: PGD only has its random start
    assert square_acc < pgd_acc - 0.4


@pytest.mark.jax
def test_stops_early_when_everything_is_fooled():
    model = linear_model()
    x, y = batch(model)
    x_adv, queries = Square(eps=0.5, n_queries=1000, seed=0).run(model, x, y)
    assert (predict_labels(model, x_adv) != y).all()
    assert queries.max() < 1000


@pytest.mark.jax
def test_perturb_is_a_pure_compiled_function():
    model = linear_model()
    x, y = batch(model, n=16)
    square = Square(eps=0.1, n_queries=30, seed=1)
    compiled = backend.compile_model_fn(model, square.perturb, state=[square.seed_generator.state])
    x_adv = np.asarray(keras.ops.convert_to_numpy(compiled(x, y.astype("int32"))))
    assert np.abs(x_adv - x).max() <= 0.1 + 1e-6 and 0 <= x_adv.min() and x_adv.max() <= 1
    assert (predict_labels(model, x_adv) != y).mean() > 0


def test_same_seed_same_result():
    model = linear_model()
    x, y = batch(model, n=16)
    a = Square(eps=0.05, n_queries=50, seed=3)(model, x, y)
    b = Square(eps=0.05, n_queries=50, seed=3)(model, x, y)
    np.testing.assert_array_equal(a, b)


def test_p_schedule_matches_autoattack():
    # AutoAttack halves p after iterations 10, 50, 200, 500, 1000, 2000, 4000,
    # 6000, 8000 of a 10,000-query budget.
    values = {
        0: 0.8,
        10: 0.8,
        11: 0.4,
        50: 0.4,
        51: 0.2,
        201: 0.1,
        501: 0.05,
        1001: 0.025,
        2001: 0.0125,
        4001: 0.00625,
        6001: 0.003125,
        8001: 0.0015625,
    }
    for it, p in values.items():
        assert float(p_fraction(it, 10000, 0.8)) == pytest.approx(p)
    assert float(p_fraction(26, 5000, 0.8)) == pytest.approx(0.2)  # 52 of 10,000
    assert expected_side(0, 5000, 0.8, 32, 32) == 29  # round(sqrt(0.8 * 1024))
    assert expected_side(4999, 5000, 0.8, 32, 32) == 1


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_queries"):
        Square(eps=0.1, n_queries=0)
    with pytest.raises(ValueError, match="p_init"):
        Square(eps=0.1, p_init=1.5)
    with pytest.raises(ValueError, match="norm"):
        Square(eps=0.5, norm="l0")
    model = linear_model(shape=(4, 4, 1))
    x, y = batch(model, shape=(4, 4, 1))
    for norm in ("l2", "l1"):
        with pytest.raises(ValueError, match="5 x 5"):
            Square(eps=0.5, norm=norm, n_queries=2)(model, x, y)


def ring_rectangle(height, width, norm):
    """The reference construction: ring k around the centre adds 1/(k+1)^2 to its pixels
    (1/(k+1)^4 at L1), normalised in `norm`."""
    out = np.zeros((height, width))
    for k in range(max(height // 2 + 1, width // 2 + 1)):
        rows = slice(max(height // 2 - k, 0), height // 2 + k + 1)
        cols = slice(max(width // 2 - k, 0), width // 2 + k + 1)
        out[rows, cols] += 1.0 / (k + 1) ** (4 if norm == "l1" else 2)
    return out / np.linalg.norm(out.ravel(), ord=1 if norm == "l1" else 2)


def eta(side, norm):
    half = side // 2
    pattern = np.vstack(
        [ring_rectangle(half, side, norm), -ring_rectangle(side - half, side, norm)]
    )
    return pattern / np.linalg.norm(pattern.ravel(), ord=1 if norm == "l1" else 2)


@pytest.mark.parametrize("norm", ["l2", "l1"])
@pytest.mark.parametrize("side", [3, 5, 6, 9])
def test_window_pattern_is_the_ring_construction(side, norm):
    top, left, size = np.array([2.0, 0.0]), np.array([1.0, 12.0 - side]), 12
    got = keras.ops.convert_to_numpy(
        window_pattern(
            keras.ops.convert_to_tensor(top, "float32"),
            keras.ops.convert_to_tensor(left, "float32"),
            float(side),
            size,
            size,
            keras.ops.convert_to_tensor([False, True]),
            norm,
        )
    )
    for image, transpose in enumerate((False, True)):
        expected = np.zeros((size, size))
        row, col = int(top[image]), int(left[image])
        expected[row : row + side, col : col + side] = (
            eta(side, norm).T if transpose else eta(side, norm)
        )
        np.testing.assert_allclose(got[image], expected, atol=1e-6)


@pytest.mark.jax
def test_l2_outputs_are_images_in_the_ball():
    model = linear_model(shape=(8, 8, 3))
    x, y = batch(model, shape=(8, 8, 3))
    y[:4] = (y[:4] + 1) % 10
    x_adv, queries = Square(eps=0.5, norm="l2", n_queries=40, seed=0).run(model, x, y)
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    norms = np.linalg.norm((x_adv - x).reshape(len(x), -1), axis=1)
    assert norms.max() <= 0.5 * (1 + 1e-5)
    np.testing.assert_array_equal(x_adv[:4], x[:4])
    assert (queries[:4] == 0).all() and queries[4:].min() >= 1
    # The perturbations use the budget: the box clips only a little of the eps-sphere.
    assert np.median(norms[4:]) > 0.3


@pytest.mark.jax
def test_l2_fools_a_model_with_zero_gradients_where_pgd_fails():
    model = linear_model(shape=(8, 8, 1), quantize=True)
    x, y = batch(model, n=48)
    pgd = PGD(eps=2.0, step_size=0.5, steps=10, norm="l2", seed=0)
    pgd_acc = (predict_labels(model, np.asarray(pgd(model, x, y))) == y).mean()
    x_adv = Square(eps=2.0, norm="l2", n_queries=300, seed=0)(model, x, y)
    square_acc = (predict_labels(model, x_adv) == y).mean()
    assert square_acc < pgd_acc - 0.3
