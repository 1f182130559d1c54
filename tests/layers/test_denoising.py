"""Feature denoising: each operation against NumPy/SciPy, the block's identity start, training."""

import keras
import numpy as np
import pytest
import scipy.ndimage
from keras import ops

from tests.test_case import assert_weights_changed
from tests.test_case import fit_one_step
from tfrobust import attacks
from tfrobust.architectures import denoising_insert
from tfrobust.layers import DenoisingBlock
from tfrobust.layers import denoising_ops

OPERATIONS = ["nonlocal", "bilateral", "mean", "median", "null"]


def feature_map(shape=(2, 4, 5, 3), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def numpy_of(x):
    return ops.convert_to_numpy(x)


def reference_weighted_mean(x, theta, phi, weighting, window=None):
    """`y_i = 1/C sum_j f(i, j) x_j` by loops over positions; `window` None is non-local."""
    n, h, w, _ = x.shape
    d = theta.shape[-1]
    y = np.zeros_like(x, dtype=np.float64)
    for b in range(n):
        for i in range(h):
            for j in range(w):
                if window is None:
                    js = [(p, q) for p in range(h) for q in range(w)]
                else:
                    r = window // 2
                    js = [
                        (p, q)
                        for p in range(i - r, i + r + 1)
                        for q in range(j - r, j + r + 1)
                        if 0 <= p < h and 0 <= q < w
                    ]
                dots = np.array([theta[b, i, j] @ phi[b, p, q] for p, q in js], np.float64)
                if weighting == "gaussian":
                    f = np.exp(dots / np.sqrt(d))
                    f = f / f.sum()
                else:
                    f = dots / len(js)
                y[b, i, j] = sum(fk * x[b, p, q] for fk, (p, q) in zip(f, js))
    return y


@pytest.mark.jax
@pytest.mark.parametrize("weighting", ["gaussian", "dot_product"])
@pytest.mark.parametrize("embedded", [False, True])
def test_nonlocal_means_equals_numpy(weighting, embedded):
    x = feature_map()
    theta, phi = (
        (feature_map((2, 4, 5, 2), 1), feature_map((2, 4, 5, 2), 2)) if embedded else (x, x)
    )
    y = denoising_ops.nonlocal_means(
        x, theta if embedded else None, phi if embedded else None, weighting
    )
    expected = reference_weighted_mean(x, theta, phi, weighting)
    np.testing.assert_allclose(numpy_of(y), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.jax
@pytest.mark.parametrize("weighting", ["gaussian", "dot_product"])
def test_bilateral_filter_equals_numpy_over_the_window_inside_the_map(weighting):
    x = feature_map()
    theta, phi = feature_map((2, 4, 5, 2), 1), feature_map((2, 4, 5, 2), 2)
    y = denoising_ops.bilateral_filter(x, theta, phi, weighting, kernel_size=3)
    expected = reference_weighted_mean(x, theta, phi, weighting, window=3)
    np.testing.assert_allclose(numpy_of(y), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.jax
@pytest.mark.parametrize("kernel_size", [3, 5])
def test_mean_filter_averages_the_neighbours_inside_the_map(kernel_size):
    x = feature_map((2, 6, 5, 3))
    r = kernel_size // 2
    expected = np.zeros_like(x)
    for i in range(6):
        for j in range(5):
            window = x[:, max(0, i - r) : i + r + 1, max(0, j - r) : j + r + 1]
            expected[:, i, j] = window.mean(axis=(1, 2))
    np.testing.assert_allclose(
        numpy_of(denoising_ops.mean_filter(x, kernel_size)), expected, rtol=1e-5, atol=1e-6
    )


@pytest.mark.jax
@pytest.mark.parametrize("kernel_size,mode", [(3, "reflect"), (3, "nearest"), (5, "reflect")])
def test_median_filter_equals_scipy(kernel_size, mode):
    x = feature_map((2, 6, 7, 3))
    expected = scipy.ndimage.median_filter(x, size=(1, kernel_size, kernel_size, 1), mode=mode)
    np.testing.assert_array_equal(numpy_of(denoising_ops.median_filter(x, kernel_size)), expected)


def test_bad_arguments_are_rejected_with_the_value():
    with pytest.raises(ValueError, match="Received: operation='gauss'"):
        DenoisingBlock(4, operation="gauss")
    with pytest.raises(ValueError, match="Received: weighting='softmax'"):
        DenoisingBlock(4, weighting="softmax")
    with pytest.raises(ValueError, match="Received: kernel_size=2"):
        DenoisingBlock(4, operation="median", kernel_size=2)
    with pytest.raises(ValueError, match="Received: channels=0"):
        DenoisingBlock(0)
    with pytest.raises(ValueError, match="use_conv=False, residual=False"):
        DenoisingBlock(4, use_conv=False, residual=False)
    with pytest.raises(ValueError, match="Received: input_shape"):
        DenoisingBlock(4)(feature_map((2, 4, 4, 3)))
    with pytest.raises(ValueError, match="Received: operation='x'"):
        denoising_insert("resnet18", operation="x")


@pytest.mark.jax
@pytest.mark.parametrize("operation", OPERATIONS)
def test_block_starts_as_the_identity(operation):
    """The BN after the 1x1 conv has gamma = 0 (paper, Sec. 4): a new block changes nothing."""
    x = feature_map()
    block = DenoisingBlock(3, operation=operation)
    for training in (False, True):
        np.testing.assert_allclose(numpy_of(block(x, training=training)), x, atol=1e-6)


@pytest.mark.jax
def test_ablations_compute_what_they_say():
    x = feature_map()
    no_conv = DenoisingBlock(3, operation="median", use_conv=False)
    np.testing.assert_allclose(
        numpy_of(no_conv(x)), x + numpy_of(denoising_ops.median_filter(x)), atol=1e-6
    )
    no_residual = DenoisingBlock(3, operation="mean", residual=False)
    y = numpy_of(no_residual(x))
    expected = no_residual.bn(no_residual.conv(denoising_ops.mean_filter(x)))
    np.testing.assert_allclose(y, numpy_of(expected), atol=1e-6)
    assert not np.allclose(y, 0)  # gamma starts at 1 without residual
    null, nonlocal_ = DenoisingBlock(3, operation="null"), DenoisingBlock(3)
    null.build(x.shape)
    nonlocal_.build(x.shape)
    assert len(null.trainable_weights) == 3  # conv, gamma, beta
    assert len(nonlocal_.trainable_weights) == 5  # and the embeddings theta, phi


def tiny_model(*blocks, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6, 6, 1))
    h = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    for block in blocks:
        h = block(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(3, name="classifier")(h))


def wake(block):
    """Give the zero-initialised gamma a value, as training would, so the block does something."""
    if block.bn is not None:
        block.bn.gamma.assign(np.linspace(0.5, 1.5, block.channels).astype("float32"))


@pytest.mark.jax
def test_one_adversarial_fit_step_updates_every_weight():
    """Gradients reach every weight of each kind of block (one model, to compile once)."""
    blocks = [
        DenoisingBlock(4, operation=op, name=op) for op in ("nonlocal", "bilateral", "median")
    ]
    model = tiny_model(*blocks)
    for block in blocks:
        wake(block)
    before = [numpy_of(w).copy() for w in model.trainable_weights]
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 6, 6, 1), dtype=np.float32), rng.integers(0, 3, 8)
    history = fit_one_step(model, attack=attacks.PGD(eps=0.1, step_size=0.05, steps=2), x=x, y=y)
    assert np.isfinite(history["loss"][0])
    assert len(model.trainable_weights) == 2 + 5 + 5 + 3 + 2
    assert_weights_changed(model.trainable_weights, before)


@pytest.mark.jax
def test_keras_save_and_reload_gives_identical_outputs(tmp_path):
    block = DenoisingBlock(4, operation="bilateral", weighting="dot_product", name="denoise")
    model = tiny_model(block)
    wake(block)
    x = feature_map((2, 6, 6, 1))
    path = str(tmp_path / "denoise.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    restored = reloaded.get_layer("denoise")
    assert isinstance(restored, DenoisingBlock)
    assert restored.get_config() == block.get_config()
    np.testing.assert_array_equal(numpy_of(reloaded(x)), numpy_of(model(x)))


def test_insert_helper_puts_a_block_after_every_residual_stage():
    from tfrobust import architectures

    assert sorted(denoising_insert("resnet50")) == ["stage1", "stage2", "stage3", "stage4"]
    assert sorted(denoising_insert("resnet20")) == ["stage1", "stage2", "stage3"]
    model = architectures.get(
        "resnet20",
        width=0.25,
        input_shape=(8, 8, 3),
        insert=denoising_insert("resnet20", operation="mean"),
    )
    blocks = [layer for layer in model.layers if isinstance(layer, DenoisingBlock)]
    assert [b.name for b in blocks] == ["stage1_insert", "stage2_insert", "stage3_insert"]
    assert [b.channels for b in blocks] == [4, 8, 16]
    x = feature_map((2, 8, 8, 3))
    plain = architectures.get("resnet20", width=0.25, input_shape=(8, 8, 3))
    plain.set_weights(
        [
            w
            for layer in model.layers
            if not isinstance(layer, DenoisingBlock)
            for w in layer.get_weights()
        ]
    )
    np.testing.assert_allclose(numpy_of(model(x)), numpy_of(plain(x)), atol=1e-5)
