"""SAT recipes train from precomputed saliency: a fixed model's maps (cached) or map files.

Through the real call path, `build.datasets(recipe)`: the maps in the batches
are the fixed model's saliency of those very images (from `tf.data` and, where
TensorFlow is not installed, from NumPy), they do not follow the model being
trained, the cache is read on a second build and recomputed when the fixed
model changes, and a recipe trains one compiled step from them.
"""

import json
import pathlib

import keras
import numpy as np
import pytest
import yaml
from keras import ops

from tfrobust import data
from tfrobust import installed
from tfrobust import saliency
from tfrobust.data.epochs import holdout
from tfrobust.recipes import RecipeError
from tfrobust.recipes import build
from tfrobust.recipes import load_recipe
from tfrobust.saliency import cache

RECIPES = pathlib.Path(__file__).resolve().parents[2] / "recipes"
CIFAR10_SAT = RECIPES / "drafts" / "sat_cifar10_resnet18_pgd_sat.yaml"  # no paper number yet


def fixed_model(path, seed=0):
    """A small CIFAR-shaped classifier saved as `path` (.keras): the fixed "Standard" model."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    model.save(path)
    return model


def tiny_recipe(tmp_path, model_path, method="gradient", method_args=None, **dataset):
    """PGD-SAT with LeNet on the bundled CIFAR-10 sample, maps from `model_path`."""
    recipe = {
        "name": "cifar10/lenet-pgd_sat",
        "paper": "test",
        "dataset": {
            "name": "cifar10",
            "data_dir": str(data.SAMPLE_DIR),
            "n_train": 48,
            "validation": {"n": 16},
            **dataset,
        },
        "model": {"architecture": "lenet"},
        "objective": {"name": "pgd_at"},
        "attack": {
            "name": "saliency_pgd",
            "args": {
                "eps": "8/255",
                "step_size": "2/255",
                "steps": 1,
                "alpha": 0.5,
                "saliency": None,
            },
        },
        "saliency": {
            "source": "model",
            "model": str(model_path),
            "method": method,
            "method_args": method_args or {},
            "batch_size": 32,
            "cache_dir": str(tmp_path / "cache"),
        },
        "training": {"epochs": 1, "batch_size": 16},
        "evaluation": {"eps": "8/255", "n": 16, "attacks": ["pgd"]},
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return load_recipe(path)


@pytest.fixture(params=["tf.data", "numpy"])
def streams(request, monkeypatch):
    """Both ways `build.datasets` makes its batches: `tf.data`, or NumPy `PyDataset`s
    where TensorFlow is not installed."""
    if request.param == "numpy":
        monkeypatch.setattr(installed, "tensorflow_installed", lambda: False)
    return request.param


def batches(ds):
    """Images, maps and labels of a whole dataset (`tf.data` or `PyDataset`), in its order."""
    elements = ds
    if isinstance(ds, keras.utils.PyDataset):
        elements = (ds[b] for b in range(ds.num_batches))
    xs, ss, ys = [], [], []
    for inputs, y in elements:
        assert set(inputs) == {"image", "saliency"}
        xs.append(np.asarray(inputs["image"]))
        ss.append(np.asarray(inputs["saliency"]))
        ys.append(np.asarray(y))
    return np.concatenate(xs), np.concatenate(ss), np.concatenate(ys)


def source_index(images, split, n):
    """Where each (possibly shuffled) image is in the split's first `n` images."""
    x, _, _ = data.load_uint8("cifar10", split, data.SAMPLE_DIR)
    index = {x[i].tobytes(): i for i in range(n)}
    return np.array([index[np.round(img * 255).astype(np.uint8).tobytes()] for img in images])


@pytest.mark.jax
@pytest.mark.parametrize("method", ["gradient", "grad_cam"])
def test_maps_in_the_batches_are_the_fixed_models_saliency_of_those_images(
    tmp_path, method, streams
):
    model = fixed_model(tmp_path / "standard.keras")
    recipe = tiny_recipe(tmp_path, tmp_path / "standard.keras", method)
    train, validation = build.datasets(recipe)
    train_index, val_index = holdout(1000, 16, seed=0)  # the sample's 1,000 training images
    for ds, index in ((train, train_index[:48]), (validation, val_index)):
        x, s, y = batches(ds)
        order = source_index(x, "train", 1000)
        assert sorted(order) == sorted(index)  # every image once, shuffled or not
        expected = ops.convert_to_numpy(saliency.compute(method, model, x, y))  # true classes
        expected = expected[..., None] if expected.ndim == 3 else expected
        assert s.shape == expected.shape
        np.testing.assert_allclose(s, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(order, val_index)  # validation keeps the split's order
    assert not np.array_equal(source_index(batches(train)[0], "train", 1000), train_index[:48])


@pytest.mark.jax
def test_augmented_maps_are_cropped_and_flipped_with_their_images(tmp_path, streams):
    """A linear model with unit weights: its Integrated Gradients map is the image itself."""
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Flatten(),
            keras.layers.Dense(10, kernel_initializer="ones"),
        ]
    )
    model.save(tmp_path / "linear.keras")
    recipe = tiny_recipe(
        tmp_path, tmp_path / "linear.keras", "integrated_gradients", {"steps": 2}, augment=True
    )
    train, _ = build.datasets(recipe)
    x, s, _ = batches(train)
    originals, _, _ = data.load_uint8("cifar10", "train", data.SAMPLE_DIR)
    originals = {image.tobytes() for image in originals[:48]}
    unchanged = [np.round(image * 255).astype(np.uint8).tobytes() in originals for image in x]
    assert np.mean(unchanged) < 0.5  # augmented
    np.testing.assert_allclose(s, x, atol=1e-5)  # the same crop (zero padding) and flip


@pytest.mark.jax
def test_maps_do_not_follow_the_trained_model_and_one_step_trains(tmp_path):
    fixed_model(tmp_path / "standard.keras")
    recipe = tiny_recipe(tmp_path, tmp_path / "standard.keras")
    train, validation = build.datasets(recipe)
    _, before, _ = batches(validation)
    classifier = build.model(recipe)
    robust = build.trainer(recipe, classifier)
    assert robust.attack.saliency is None  # no online fall-back
    robust.compile(optimizer=build.optimizer(recipe))
    weights = [ops.convert_to_numpy(w).copy() for w in classifier.trainable_weights]
    history = robust.fit(
        train, epochs=1, steps_per_epoch=1, validation_data=validation, verbose=0
    ).history
    assert np.isfinite(history["loss"]).all() and "val_adv_accuracy" in history
    assert not np.allclose(ops.convert_to_numpy(classifier.trainable_weights[0]), weights[0])
    _, after, _ = batches(validation)
    np.testing.assert_array_equal(after, before)
    _, rebuilt, _ = batches(build.datasets(recipe)[1])  # after training: from the cache
    np.testing.assert_array_equal(rebuilt, before)


class Logs(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.logs = dict(logs)


def test_a_recipe_run_trains_from_the_fixed_models_maps(tmp_path):
    import tensorflow as tf

    from tfrobust.recipes import run

    fixed_model(tmp_path / "standard.keras")
    recipe = tiny_recipe(tmp_path, tmp_path / "standard.keras")
    recipe.training.steps_per_epoch = 2
    logs = Logs()
    run.fit(recipe, tmp_path / "run", tf.distribute.get_strategy(), verbose=0, callbacks=[logs])
    assert np.isfinite(logs.logs["loss"]) and "val_adv_accuracy" in logs.logs
    assert len(list((tmp_path / "cache" / "cifar10").glob("*.npy"))) == 2
    times = json.loads((tmp_path / "run" / "training_time.json").read_text())
    assert set(times["epochs"]) == {"0"}
    (setup,) = times["setup"].values()  # the maps' computation, recorded for the card
    assert setup["seconds"] > 0 and setup["machine"] == run.machine()


def test_the_cache_is_reused_and_invalidated_by_a_new_fixed_model(tmp_path, monkeypatch):
    calls = []
    real = saliency.precompute

    def counting(*args, **kwargs):
        calls.append(len(args[2]))
        return real(*args, **kwargs)

    monkeypatch.setattr(saliency, "precompute", counting)
    fixed_model(tmp_path / "standard.keras")
    recipe = tiny_recipe(tmp_path, tmp_path / "standard.keras")
    _, first, _ = batches(build.datasets(recipe)[1])
    assert calls == [48, 16]  # train, validation
    files = sorted((tmp_path / "cache" / "cifar10").glob("*.npy"))
    assert len(files) == 2 and all(f.with_suffix(".json").is_file() for f in files)
    mtimes = [f.stat().st_mtime_ns for f in files]

    _, second, _ = batches(build.datasets(recipe)[1])
    assert calls == [48, 16]  # nothing recomputed
    assert [f.stat().st_mtime_ns for f in files] == mtimes
    np.testing.assert_array_equal(second, first)

    fixed_model(tmp_path / "standard.keras", seed=1)  # retrained: another file, same path
    _, third, _ = batches(build.datasets(recipe)[1])
    assert calls == [48, 16, 48, 16]
    assert not np.allclose(third, first)
    assert len(list((tmp_path / "cache" / "cifar10").glob("*.npy"))) == 4

    other = tiny_recipe(
        tmp_path, tmp_path / "standard.keras", "smoothgrad", {"samples": 2, "seed": 0}
    )  # another method: its own maps
    build.datasets(other)
    assert calls == [48, 16, 48, 16, 48, 16]
    info = [p for p in (tmp_path / "cache" / "cifar10").glob("train-smoothgrad-*.json")]
    assert len(info) == 2  # training and validation images, both of the training split
    assert all('"seconds"' in p.read_text() for p in info)


def test_a_cache_miss_leaves_the_trained_models_initialisation_unchanged(tmp_path):
    fixed_model(tmp_path / "standard.keras")
    recipe = tiny_recipe(tmp_path, tmp_path / "standard.keras")
    weights = []
    for _ in range(2):  # the first build computes the maps (loads the model), the second reads them
        keras.utils.set_random_seed(0)
        build.datasets(recipe)
        weights.append(ops.convert_to_numpy(build.model(recipe).trainable_weights[0]))
    np.testing.assert_array_equal(weights[0], weights[1])


def test_map_files_are_read_and_checked(tmp_path):
    fixed_model(tmp_path / "standard.keras")
    recipe = tiny_recipe(tmp_path, tmp_path / "standard.keras")
    x, _, _ = data.load_uint8("cifar10", "train", data.SAMPLE_DIR)
    np.save(tmp_path / "train.npy", saliency.mask_to_saliency(x[..., 0] > 128))
    overrides = [
        "saliency.source=files",
        "saliency.model=null",
        "saliency.method=null",
        "saliency.cache_dir=null",
        f"saliency.train={tmp_path / 'train.npy'}",
    ]
    recipe = load_recipe(tmp_path / "recipe.yaml", overrides=overrides)
    train, validation = build.datasets(recipe)
    for ds in (train.take(3), validation):  # validation is held out of the training split
        x, s, _ = batches(ds)
        assert s.shape[-1] == 1
        np.testing.assert_array_equal(s[..., 0], np.where(x[..., 0] * 255 > 128.5, 1.0, -1.0))
    np.save(tmp_path / "train.npy", np.ones((10, 32, 32, 1), "float32"))  # not the whole split
    with pytest.raises(ValueError, match=r"saliency.train: .* shape \(10, 32, 32, 1\)"):
        build.datasets(recipe)
    missing = load_recipe(
        tmp_path / "recipe.yaml",
        overrides=overrides[:-1] + [f"saliency.train={tmp_path / 'no.npy'}"],
    )
    with pytest.raises(FileNotFoundError, match="in_split_order"):
        build.datasets(missing)


def test_a_missing_fixed_model_is_an_error_that_says_how_to_make_it(tmp_path):
    recipe = tiny_recipe(tmp_path, tmp_path / "absent.keras")
    with pytest.raises(FileNotFoundError, match="standard_cifar10_resnet18.yaml"):
        build.datasets(recipe)


@pytest.mark.parametrize(
    "override, message",
    [
        ("attack.args.saliency=gradient", "set it to null"),
        ("saliency.source=online", "saliency.model: not used with source 'online'"),
        ("saliency.method=gradcam", "unknown saliency method 'gradcam'"),
        ("saliency.method_args={sample: 3}", "smoothgrad takes no argument 'sample'"),
        ("saliency=null", "needs a `saliency:` section"),
        ("saliency.source=boxes", "saliency.source: one of"),
    ],
)
def test_inconsistent_saliency_settings_are_rejected(override, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe(CIFAR10_SAT, overrides=[override])


def test_sat_recipes_take_the_papers_saliency():
    paths = sorted(RECIPES.glob("sat_*.yaml")) + [CIFAR10_SAT]
    assert len(paths) == 5
    for path in paths:
        for scale in (None, "cpu"):
            recipe = load_recipe(path, scale=scale)
            expected = "model" if recipe.dataset.name == "cifar10" else "files"
            assert recipe.saliency.source == expected, path
            assert recipe.attack.args["saliency"] is None, path
    online = load_recipe(
        RECIPES / "sat_tiny_imagenet_resnet18_pgd_sat.yaml",
        overrides=[
            "saliency.source=online",
            "saliency.train=null",
            "attack.args.saliency=gradient",
        ],
    )
    assert build.attack(online).saliency == "gradient"  # the explicit online variant


def test_a_zoo_id_names_the_fixed_model(tmp_path):
    from tfrobust import zoo

    if "cifar10/resnet20-fast_at" not in zoo.list_models():
        pytest.skip("no cifar10/resnet20-fast_at in the zoo")
    path, digest = cache.model_file("cifar10/resnet20-fast_at")
    assert (
        path.name == "model.keras"
        and digest == yaml.safe_load((path.parent / "weights.json").read_text())["sha256"]
    )
    recipe = tiny_recipe(tmp_path, "cifar10/resnet20-fast_at")
    recipe.dataset.n_train, recipe.dataset.validation.n = 8, 8
    _, s, _ = batches(build.datasets(recipe)[1])
    assert s.shape == (8, 32, 32, 3) and np.abs(s).max() > 0
    with pytest.raises(ValueError, match="neither a .keras file nor a zoo model"):
        cache.model_file("cifar10/no-such-model")


def test_the_cifar10_sat_row_starts_from_the_published_standard_model():
    """The SAT table's CPU row reads its maps from the zoo's Standard entry (checksummed),
    not a run folder that a new checkout does not have."""
    ref = load_recipe(CIFAR10_SAT, scale="cpu").saliency.model
    assert ref == "cifar10/resnet18_w0.25-standard"
    path, digest = cache.model_file(ref)
    assert digest == yaml.safe_load((path.parent / "weights.json").read_text())["sha256"]


def test_a_missing_model_file_is_named_with_the_ways_to_fix_it(tmp_path):
    missing = tmp_path / "model.keras"
    with pytest.raises(FileNotFoundError) as error:
        cache.model_file(str(missing))
    message = str(error.value)
    assert str(missing) in message and "saliency.model=cifar10/resnet18_w0.25-standard" in message
    ref = message.split("saliency.model=")[-1].rstrip(").")
    assert cache.model_file(ref)[0].is_file()  # the zoo model it suggests exists
