"""Saliency maps of a fixed model for a whole dataset split, computed once and kept on disk.

SAT trains from saliency maps that do not change during training: weak
saliency from annotations, or the maps of a fixed, pretrained model (the SAT
paper's CIFAR-100 table: a standard or adversarially trained ResNet-10
explained with GBP, SmoothGrad, Guided Grad-CAM++ or Integrated Gradients).
Computing them costs one to dozens of gradient passes per image, so
`cached_maps` computes a split once and keeps it as a `.npy` file, written
atomically, under `$TFROBUST_CACHE_DIR/saliency` (default
`~/.cache/tfrobust/saliency`) or a given folder. The file's name holds a
SHA-256 over everything the maps depend on: the model file's SHA-256, the
method and its arguments, the batch size (SmoothGrad's noise is drawn per
batch), and the images and labels themselves; a changed model, method or
data is computed afresh, never served stale. A `.json` beside each file
records what it holds and how long it took.

    >>> from tfrobust import data
    >>> images, labels = data.load_numpy("mnist", "test", data_dir=data.SAMPLE_DIR, n=8)
    >>> maps = cached_maps("mnist/lenet-standard", "smoothgrad", images, labels,
    ...                    dataset="mnist", split="test", method_args={"samples": 4},
    ...                    log=None)  # the model: a zoo ID or a .keras file
    >>> maps.shape, maps.dtype
    ((8, 28, 28, 1), dtype('float32'))

The maps explain each image's true class (the paper's saliency is the input
gradient of the true class's logit), and are float32 of the images' shape
(N, H, W, C), or (N, H, W, 1) for class-activation maps.
"""

import contextlib
import hashlib
import json
import os
import pathlib
import random
import time

import numpy as np

from tfrobust.zoo.files import atomic_path

FORMAT_VERSION = 1


def cache_root(cache_dir=None):
    """`cache_dir`, else `$TFROBUST_CACHE_DIR/saliency` (default `~/.cache/tfrobust/saliency`)."""
    if cache_dir is not None:
        return pathlib.Path(cache_dir).expanduser()
    default = pathlib.Path.home() / ".cache" / "tfrobust"
    return pathlib.Path(os.environ.get("TFROBUST_CACHE_DIR", default)) / "saliency"


def is_model_file(ref):
    """A `.keras` file path (True) rather than a zoo ID such as `cifar10/resnet18-standard`."""
    return str(ref).endswith(".keras")


def model_file(ref):
    """`(path, sha256)` of the weights of a `.keras` path or a zoo ID (checksum-verified)."""
    from tfrobust.data.checksums import sha256

    if is_model_file(ref):
        path = pathlib.Path(ref).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"saliency.model: no model file at {path} (from {os.getcwd()}). Train the fixed "
                "model first (for SAT on CIFAR-10: `tfrobust train recipes/"
                "standard_cifar10_resnet18.yaml`, which writes runs/cifar10/resnet18-standard/"
                "model.keras), give its path with --set saliency.model=PATH.keras, or name a "
                "zoo model (--set saliency.model=cifar10/resnet18_w0.25-standard)."
            )
        return path, sha256(path)
    from tfrobust.zoo import load as zoo_load
    from tfrobust.zoo.entry import find_entries

    entries = find_entries()
    if ref not in entries:
        raise ValueError(
            f"saliency.model: {ref!r} is neither a .keras file nor a zoo model. "
            f"Zoo models: {', '.join(entries) or 'none'}"
        )
    path = zoo_load.weights_path(entries[ref])  # verified against weights.json
    return path, sha256(path)


def load_fixed_model(path):
    """The classifier in `path`, frozen, for inference."""
    from tfrobust.saving import load_keras

    model = load_keras(path)
    model.trainable = False
    return model


@contextlib.contextmanager
def preserved_random_state():
    """Leave Python's and NumPy's global random state as they were.

    Loading a model makes layers whose initialisers draw seeds from Python's
    `random`; without this, a run that computes the maps (cache miss) would
    initialise the trained model differently from one that reads them.
    """
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def data_digest(images, labels):
    """SHA-256 of the images and labels (dtype, shape and bytes)."""
    digest = hashlib.sha256()
    for array in (np.ascontiguousarray(images), np.ascontiguousarray(labels)):
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def cache_key(model_sha256, method, method_args, batch_size, images, labels):
    """The record the cache file is named by: everything the maps depend on."""
    return {
        "format": FORMAT_VERSION,
        "model_sha256": model_sha256,
        "method": method,
        "method_args": method_args,
        "batch_size": int(batch_size),
        "explains": "label",
        "data_sha256": data_digest(images, labels),
        "n": int(len(images)),
    }


def cache_path(key, dataset, split, cache_dir=None):
    text = json.dumps(key, sort_keys=True, default=str).encode()
    name = f"{split}-{key['method']}-{hashlib.sha256(text).hexdigest()[:20]}.npy"
    return cache_root(cache_dir) / dataset / name


def save_atomic(path, maps, info):
    """Write `maps` to `path` (.npy) and `info` beside it (.json), each via a rename."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for target, write in (
        (path.with_suffix(".json"), lambda f: f.write(json.dumps(info, indent=1).encode() + b"\n")),
        (path, lambda f: np.save(f, maps, allow_pickle=False)),
    ):
        with atomic_path(target) as tmp, open(tmp, "wb") as f:
            write(f)


def cached_maps(
    model,
    method,
    images,
    labels,
    dataset,
    split,
    method_args=None,
    batch_size=250,
    cache_dir=None,
    log=print,
):
    """Saliency maps of the fixed `model` for `images`, from the cache or computed and cached.

    Args:
        model: a `.keras` file or a zoo ID.
        method: a name in `tfrobust.saliency.METHODS`.
        images: uint8 (N, H, W, C), or float in [0, 1].
        labels: (N,) true classes; each map explains its image's class.
        dataset, split: where the images come from (the cache file's folder
            and name; the key itself hashes the images).
        method_args: the method's keyword arguments (SmoothGrad's `samples`,
            `noise`, `seed`; Grad-CAM's `layer`; ...).
        batch_size: images per saliency call.
        cache_dir: folder of the cache; default `cache_root()`.
        log: called with one line when maps are computed or read; `None`: silent.

    Returns:
        The maps, float32 (N, H, W, C), or (N, H, W, 1) for CAMs; read-only
        and memory-mapped when they come from the cache.
    """
    from tfrobust import saliency

    saliency.get(method)
    method_args = dict(method_args or {})
    path, digest = model_file(model)
    key = cache_key(digest, method, method_args, batch_size, images, labels)
    target = cache_path(key, dataset, split, cache_dir)
    if target.is_file():
        maps = np.load(target, mmap_mode="r", allow_pickle=False)
        if log:
            log(f"saliency: {len(maps)} {method} maps of {dataset} {split} from {target}")
        return maps
    start = time.time()
    with preserved_random_state():
        fixed = load_fixed_model(path)
        expected = tuple(fixed.inputs[0].shape[1:])
        if expected != tuple(images.shape[1:]):
            raise ValueError(
                f"saliency.model: {path} takes images of shape {expected}; "
                f"{dataset} images are {tuple(images.shape[1:])}"
            )
        maps = saliency.precompute(
            method, fixed, images, np.asarray(labels, "int64"), batch_size=batch_size, **method_args
        )
    if maps.ndim == 3:  # class-activation maps
        maps = maps[..., None]
    seconds = time.time() - start
    info = {
        **key,
        "model": str(model),
        "model_file": str(path),
        "dataset": dataset,
        "split": split,
        "shape": list(maps.shape),
        "seconds": round(seconds, 2),
        "machine": f"{os.cpu_count()} cores",
    }
    save_atomic(target, maps, info)
    if log:
        log(
            f"saliency: {len(maps)} {method} maps of {dataset} {split} computed in "
            f"{seconds:.1f} s with {path}; cached in {target}"
        )
    return maps
