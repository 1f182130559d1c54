"""SavedModel export: reloads without Keras and matches the Keras logits, on both backends.

The `jax` tests run in the TensorFlow run and again under `KERAS_BACKEND=jax`
(`make test`); the backend is the one this process imported Keras with.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfrobust import data
from tfrobust import layers
from tfrobust import zoo
from tfrobust.cli import main as cli
from tfrobust.export import ExportError
from tfrobust.export import export_savedmodel


def assert_serves_like(out, model, x):
    """Both signatures of the SavedModel at `out` give `model`'s logits within 1e-4."""
    served = tf.saved_model.load(str(out))
    expected = np.asarray(model(x, training=False))
    result = served.signatures["serve"](images=tf.constant(x))
    np.testing.assert_allclose(result["logits"].numpy(), expected, atol=1e-4)
    np.testing.assert_allclose(result["probabilities"].numpy().sum(axis=1), 1.0, atol=1e-5)
    pixels = np.round(x * 255).astype(np.uint8)
    from_uint8 = served.serve_uint8(tf.constant(pixels))["logits"].numpy()
    np.testing.assert_allclose(from_uint8, expected, atol=1e-4)


@pytest.mark.jax
def test_savedmodel_matches_keras_logits(zoo_root, tmp_path):
    model = zoo.load_model("mnist/lenet-pgd_at", root=zoo_root)
    out = export_savedmodel(model, tmp_path / "served")
    x, _ = data.load_numpy("mnist", "test", data.SAMPLE_DIR, n=16)
    assert_serves_like(out, model, x)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["served"]  # no staging folder left


@pytest.mark.jax
def test_cli_export(zoo_root, tmp_path, capsys):
    out = tmp_path / "served"
    assert cli.main(["export", "mnist/lenet-pgd_at", str(out), "--models-dir", str(zoo_root)]) == 0
    assert f"SavedModel written to {out}" in capsys.readouterr().out
    assert set(tf.saved_model.load(str(out)).signatures) >= {"serve", "serve_uint8"}
    assert cli.main(["export", "mnist/lenet-pgd_at", str(out), "--models-dir", str(zoo_root)]) == 2
    assert "exists; choose a new folder" in capsys.readouterr().err


def test_existing_folder_is_not_overwritten(zoo_root, tmp_path):
    model = zoo.load_model("mnist/lenet-pgd_at", root=zoo_root)
    (tmp_path / "served").mkdir()
    with pytest.raises(FileExistsError):
        export_savedmodel(model, tmp_path / "served")


def small_cnn(block):
    """A tiny CNN with `block` (a layer, or None) after its first convolution."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    if block is not None:
        h = block(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(10)(h))


BLOCKS = {
    "plain": lambda: None,
    "median3": lambda: layers.DenoisingBlock(8, operation="median", kernel_size=3),
    # `ops.top_k`: JAX 0.10 serialises it as `vhlo.composite_v2`, which TF 2.21 cannot read.
    "median5": lambda: layers.DenoisingBlock(8, operation="median", kernel_size=5),
    "cifs": lambda: layers.CIFS(10),
}


@pytest.mark.jax
@pytest.mark.parametrize("name", BLOCKS)
def test_export_serves_or_fails_clearly(name, tmp_path):
    """Exports and matches Keras, or (JAX only) names the op, points to TF, leaves nothing."""
    model = small_cnn(BLOCKS[name]())
    x = np.random.default_rng(0).uniform(size=(5, 12, 12, 3)).astype("float32")
    x = np.round(x * 255) / 255  # exact in uint8 too
    out = tmp_path / "nested" / "served"
    try:
        export_savedmodel(model, out)
    except ExportError as error:
        if keras.backend.backend() != "jax" or name in ("plain", "median3"):
            raise
        message = str(error)
        assert "at op '" in message and "top_k" in message, message
        assert "KERAS_BACKEND=tensorflow tfrobust export" in message
        assert list(tmp_path.iterdir()) == []  # neither the folder, its parent, nor staging
        return
    assert_serves_like(out, model, x)
    assert [p.name for p in out.parent.iterdir()] == ["served"]


@pytest.mark.jax
def test_cli_reports_an_unservable_model_in_one_line(tmp_path, capsys):
    path = tmp_path / "cifs.keras"
    small_cnn(layers.CIFS(10)).save(path)
    out = tmp_path / "served"
    code = cli.main(["export", str(path), str(out)])
    if keras.backend.backend() == "tensorflow":
        assert code == 0 and out.is_dir()
        return
    if code == 0:  # a TensorFlow that runs what this JAX emits
        assert out.is_dir()
        return
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("tfrobust export: error: TensorFlow ")
    assert "KERAS_BACKEND=tensorflow" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifs.keras"]
