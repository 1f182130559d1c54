"""SavedModel export: reloads without Keras and matches the Keras logits."""

import numpy as np
import pytest
import tensorflow as tf

from tfrobust import data
from tfrobust import zoo
from tfrobust.export import export_savedmodel


def test_savedmodel_matches_keras_logits(zoo_root, tmp_path):
    model = zoo.load_model("mnist/lenet-pgd_at", root=zoo_root)
    out = export_savedmodel(model, tmp_path / "served")
    served = tf.saved_model.load(str(out))
    x, _ = data.load_numpy("mnist", "test", data.SAMPLE_DIR, n=16)
    expected = np.asarray(model(x, training=False))
    result = served.serve(tf.constant(x))
    np.testing.assert_allclose(result["logits"].numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(result["probabilities"].numpy().sum(axis=1), 1.0, atol=1e-5)
    pixels = np.round(x * 255).astype(np.uint8)
    from_uint8 = served.serve_uint8(tf.constant(pixels))["logits"].numpy()
    np.testing.assert_allclose(from_uint8, expected, atol=1e-4)


def test_existing_folder_is_not_overwritten(zoo_root, tmp_path):
    model = zoo.load_model("mnist/lenet-pgd_at", root=zoo_root)
    (tmp_path / "served").mkdir()
    with pytest.raises(FileExistsError):
        export_savedmodel(model, tmp_path / "served")
