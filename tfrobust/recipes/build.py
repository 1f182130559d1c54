"""Turn a validated `Recipe` into data, a model, an objective, an attack, an optimizer."""

import contextlib
import dataclasses
import math
import os
import pathlib

import keras
import numpy as np

from tfrobust import installed
from tfrobust.recipes import registry
from tfrobust.recipes.validation import RecipeError
from tfrobust.training.l2_sgd import L2SGD


def datasets(recipe, first_epoch=0):
    """`(train, validation)` `tf.data` pipelines as the recipe describes them (NumPy
    `PyDataset`s where TensorFlow is not installed: `data.numpy_epochs`).

    Both come from the training split: `dataset.validation` holds a seeded
    sample of it out (`data.epochs.holdout`), so the test split is touched
    only by the final evaluation. The training stream covers `fit` epochs
    `first_epoch` to `training.epochs - 1`, each epoch's order and crops a
    function of the seed and the epoch (`data.epochs.training_batches`), so a
    resumed run sees the batches an uninterrupted one does.

    With a `saliency` section whose source is `model` or `files` (SAT), both
    yield `({"image": x, "saliency": s}, y)`: each image with its map, which
    travels with it through the shuffle and the crop-and-flip augmentation.
    """
    from tfrobust import data
    from tfrobust.data.epochs import holdout

    config = recipe.dataset
    images, labels, _ = data.load_uint8(config.name, "train", config.data_dir)
    train_index, val_index = holdout(len(images), config.validation.n, config.validation.seed)
    if config.n_train is not None:
        if config.n_train > len(train_index):
            raise RecipeError(
                f"dataset.n_train: the training split keeps {len(train_index)} "
                f"images after holding out dataset.validation.n="
                f"{config.validation.n}. Received: {config.n_train}"
            )
        train_index = train_index[: config.n_train]
    with_maps = recipe.saliency is not None and recipe.saliency.source != "online"

    def arrays(index):
        if not with_maps:
            return images[index], labels[index]
        return images[index], saliency_maps(recipe, images, labels, index), labels[index]

    streams = _tf_streams if installed.tensorflow_installed() else _numpy_streams
    return streams(recipe, arrays(train_index), arrays(val_index), with_maps, first_epoch)


def _tf_streams(recipe, train_arrays, val_arrays, with_maps, first_epoch):
    import tensorflow as tf

    from tfrobust.data.augment import augment
    from tfrobust.data.epochs import training_batches

    training = recipe.training
    channels = train_arrays[0].shape[-1]

    def prepare(rows, seed, augmenting=recipe.dataset.augment):
        x = tf.cast(rows[0], tf.float32) / 255.0
        if not with_maps:
            return (augment(x, seed) if augmenting else x), rows[1]
        s = tf.cast(rows[1], tf.float32)
        if augmenting:  # one crop and flip for the image and its map
            both = augment(tf.concat([x, s], axis=-1), seed)
            x, s = both[..., :channels], both[..., channels:]
        return {"image": x, "saliency": s}, rows[2]

    train = training_batches(
        train_arrays,
        prepare,
        training.batch_size,
        steps_per_epoch(recipe),
        training.seed,
        training.epochs,
        first_epoch,
    )
    validation = (
        tf.data.Dataset.from_tensor_slices(val_arrays)
        .map(lambda *rows: prepare(rows, None, augmenting=False))
        .batch(training.batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    return train, validation


def _numpy_streams(recipe, train_arrays, val_arrays, with_maps, first_epoch):
    """`_tf_streams` as NumPy `PyDataset`s, where TensorFlow is not installed (JAX)."""
    from tfrobust.data.numpy_epochs import EpochBatches
    from tfrobust.data.numpy_epochs import FixedBatches
    from tfrobust.data.numpy_epochs import augment_batch

    training = recipe.training
    channels = train_arrays[0].shape[-1]

    def prepare(rows, rng):
        x = rows[0].astype(np.float32) / 255.0
        if with_maps:
            x = np.concatenate([x, rows[1].astype(np.float32)], axis=-1)
        if rng is not None and recipe.dataset.augment:  # one crop and flip for image and map
            x = augment_batch(x, rng)
        if not with_maps:
            return x, rows[1]
        return {"image": x[..., :channels], "saliency": x[..., channels:]}, rows[2]

    train = EpochBatches(
        train_arrays,
        prepare,
        training.batch_size,
        steps_per_epoch(recipe),
        training.seed,
        first_epoch,
    )
    return train, FixedBatches(val_arrays, prepare, training.batch_size)


def saliency_maps(recipe, images, labels, index):
    """The maps of the training images `images[index]`, as `recipe.saliency` says.

    `model`: computed by the fixed model once, then read from the cache
    (`tfrobust.saliency.cache`). `files`: read from the `train` `.npy` file,
    which must hold one map per image of the whole training split.
    """
    config = recipe.saliency
    if config.source == "model":
        from tfrobust.saliency import cache

        return cache.cached_maps(
            config.model,
            config.method,
            images[index],
            labels[index],
            dataset=recipe.dataset.name,
            split="train",
            method_args=config.method_args,
            batch_size=config.batch_size,
            cache_dir=config.cache_dir,
        )
    path = pathlib.Path(config.train).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"saliency.train: no maps file at {path} (from {os.getcwd()}). Build it from the "
            "dataset's boxes or masks with tfrobust.saliency.boxes_to_saliency or "
            "mask_to_saliency, in the split's order (tfrobust.saliency.in_split_order), "
            "np.save it, and pass --set saliency.train=PATH.npy"
        )
    maps = np.load(path, mmap_mode="r", allow_pickle=False)
    maps = maps[..., None] if maps.ndim == 3 else maps
    if (
        maps.ndim != 4
        or len(maps) != len(images)
        or maps.shape[1:3] != images.shape[1:3]
        or maps.shape[3] not in (1, images.shape[3])
    ):
        raise ValueError(
            f"saliency.train: {path} holds maps of shape {maps.shape}; expected "
            f"one per image of the {recipe.dataset.name} train split, "
            f"({len(images)}, {images.shape[1]}, {images.shape[2]}, 1 or "
            f"{images.shape[3]})"
        )
    return np.asarray(maps[index])


@contextlib.contextmanager
def dtype_policy(recipe):
    """Build under the recipe's `training.dtype_policy`; the layers keep it, the process does not.

    The trainer too: under mixed_float16 its compile wraps the optimizer in a
    loss scale.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(recipe.training.dtype_policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def model(recipe, input_shape=None):
    """The classifier, with the recipe's defense layers inserted.

    `input_shape` overrides the dataset's (tests build ImageNet models smaller).
    """
    from tfrobust import architectures
    from tfrobust import data
    from tfrobust.layers import with_guided_dropout

    spec = data.get_spec(recipe.dataset.name)
    insert = {}
    for stage, layer in recipe.model.insert.items():
        cls = registry.resolve(registry.LAYERS, layer.layer, f"model.insert.{stage}")
        insert[stage] = registry.layer_factory(cls, layer.args, spec.num_classes)
    classifier = architectures.get(
        recipe.model.architecture,
        num_classes=spec.num_classes,
        input_shape=input_shape or spec.image_shape,
        width=recipe.model.width,
        insert=insert,
    )
    return with_guided_dropout(classifier) if recipe.model.guided_dropout else classifier


def objective(recipe):
    return registry.instantiate(registry.OBJECTIVES, recipe.objective, "objective")


def attack(recipe):
    """The training attack. When SAT's maps come with the data (`saliency.source` `model`
    or `files`), its own `saliency` defaults to None: a batch without maps is an error."""
    if recipe.attack is None:
        return None
    config = recipe.attack
    if (
        recipe.saliency is not None
        and recipe.saliency.source != "online"
        and "saliency" not in config.args
    ):
        config = dataclasses.replace(config, args={**config.args, "saliency": None})
    return registry.instantiate(registry.ATTACKS, config, "attack", seed=recipe.training.seed)


def trainer(recipe, classifier):
    """The model whose `fit` trains `classifier` with the recipe's objective and attack."""
    from tfrobust.training import adversarial

    return adversarial(classifier, objective(recipe), attack(recipe))


def steps_per_epoch(recipe):
    """Steps in one epoch: the recipe's, else one pass over the training images."""
    if recipe.training.steps_per_epoch is not None:
        return recipe.training.steps_per_epoch
    from tfrobust import data

    n = recipe.dataset.n_train
    if n is None:
        n = (
            len(data.load_uint8(recipe.dataset.name, "train", recipe.dataset.data_dir)[1])
            - recipe.dataset.validation.n
        )
    return math.ceil(n / recipe.training.batch_size)


def learning_rate(recipe):
    """A Keras schedule over steps built from the recipe's epoch-based schedule."""
    config, rate = recipe.training.schedule, recipe.training.optimizer.learning_rate
    if config.name == "constant":
        return rate
    steps = steps_per_epoch(recipe)
    if config.name == "piecewise":
        boundaries = [int(b * steps) for b in config.boundaries]
        values = [rate * config.factor**i for i in range(len(boundaries) + 1)]
        return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    return keras.optimizers.schedules.CosineDecay(rate, recipe.training.epochs * steps)


def optimizer(recipe):
    config = recipe.training.optimizer
    rate = learning_rate(recipe)
    if config.name == "adam":
        return keras.optimizers.AdamW(rate, weight_decay=config.weight_decay)
    # The papers' weight decay is PyTorch's coupled L2, not Keras's decoupled one.
    return L2SGD(rate, momentum=config.momentum, nesterov=config.nesterov, l2=config.weight_decay)
