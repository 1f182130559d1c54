"""`load` and `load_numpy`: a dataset from local files, or tensorflow-datasets.

Sources, in order: an explicit `data_dir`, then `$TFROBUST_DATA_DIR`, each in
the standard formats of `registry.py`; then tensorflow-datasets (which
downloads when online). Local files are checksum-verified and decoded once into
a cache. If nothing works, the error names every place tried and how to fix it.

Every split comes in one fixed order, so that its first `n` examples are a fair
sample: the files' own order where they keep the dataset's (MNIST IDX, CIFAR
python batches, SVHN, tensorflow-datasets), otherwise a seeded order that mixes
the classes (class folders: `formats/image_folder.py`). `Source.order` names it.
"""

import dataclasses
import gzip
import os
import tarfile
import zlib

import numpy as np

from tfrobust.data import cache
from tfrobust.data import checksums
from tfrobust.data.errors import DataFileError
from tfrobust.data.errors import DatasetNotFoundError
from tfrobust.data.registry import get_spec

ENV_VAR = "TFROBUST_DATA_DIR"


@dataclasses.dataclass(frozen=True)
class Source:
    """Where a split was read from, how results on it must be labelled, and its order."""

    kind: str  # "local" or "tfds"
    location: str
    report_as: str
    order: str = "canonical"  # or the seeded order of a class-folder layout


def _local_dirs(data_dir):
    dirs = []
    if data_dir is not None:
        dirs.append(("data_dir", str(data_dir)))
    if os.environ.get(ENV_VAR):
        dirs.append((f"${ENV_VAR}", os.environ[ENV_VAR]))
    return dirs


def _read_local(spec, split, root, fmt, files):
    checksums.verify(files, root)
    path = cache.cache_path(spec.name, split, files, fmt.order)
    if path.is_file():
        cached = cache.load(path)
        if cached is not None:
            return cached
    try:
        images, labels = fmt.read(files, split)
    except (OSError, EOFError, ValueError, zlib.error, tarfile.TarError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        bad = [path for path in files if not _readable_gzip(path)] or files
        raise DataFileError(
            f"Could not read the {spec.name} {split} data: {', '.join(map(str, bad))} "
            f"{'is' if len(bad) == 1 else 'are'} damaged or truncated ({type(error).__name__}: "
            f"{error}). Download it again."
        ) from error
    if images.shape[1:] != spec.image_shape:
        raise ValueError(
            f"{files[0]}: images of shape {images.shape[1:]}, "
            f"expected {spec.image_shape} for {spec.name}"
        )
    cache.save(path, images, labels)
    return images, labels


def _online(host="storage.googleapis.com", timeout=3):
    """Whether tensorflow-datasets' download host answers (checked before it prints
    "Downloading and preparing dataset" and fails)."""
    import socket

    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _readable_gzip(path):
    """False for a `.gz` file that does not decompress to its end."""
    if not str(path).endswith(".gz"):
        return True
    try:
        with gzip.open(path) as f:
            while f.read(1 << 20):
                pass
    except (OSError, EOFError, zlib.error):
        return False
    return True


def _read_tfds(spec, split, download):
    import tensorflow_datasets as tfds

    if download and not tfds.builder(spec.tfds_name).is_prepared() and not _online():
        raise ConnectionError(f"offline: cannot download {spec.tfds_name!r} (no network)")

    # Batches, not `batch_size=-1`: the latter aborts in TF 2.21 under `tfds.testing.mock_data`.
    ds = tfds.load(spec.tfds_name, split=split, as_supervised=True, download=download)
    batches = list(tfds.as_numpy(ds.batch(4096)))
    images = np.concatenate([b[0] for b in batches]).astype(np.uint8)
    return images, np.concatenate([b[1] for b in batches]).astype(np.int64)


def load_uint8(name, split, data_dir=None, download=True):
    """`(images uint8 NHWC, labels int64, Source)` of a split, from the first source that works."""
    spec = get_spec(name)
    if split not in spec.splits:
        raise ValueError(f"Unknown split {split!r} for {name}. Valid splits: {spec.splits}")
    tried = []
    for label, root in _local_dirs(data_dir):
        for fmt in spec.local:
            files = fmt.files(root, split)
            if files is None:
                tried.append(f"{label}={root}: no {fmt.describe(split)}")
                continue
            images, labels = _read_local(spec, split, root, fmt, files)
            report_as = getattr(fmt, "report_as", None) or name
            return images, labels, Source("local", str(files[0].parent), report_as, fmt.order)
    if not _local_dirs(data_dir):
        tried.append(f"no data_dir given and ${ENV_VAR} is not set")
    if spec.tfds_name is None:
        tried.append(f"tensorflow-datasets has no {name!r} dataset")
    else:
        try:
            images, labels = _read_tfds(spec, split, download)
            return images, labels, Source("tfds", spec.tfds_name, name, "tfds")
        except Exception as error:  # tfds raises many types when offline or unprepared.
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            tried.append(f"tensorflow-datasets {spec.tfds_name!r}: {first_line[:300]}")
    raise DatasetNotFoundError(
        f"Could not load {name!r} split {split!r}. Tried:\n  - "
        + "\n  - ".join(tried)
        + f"\nFix: put the files in a folder as listed above and pass data_dir=... "
        f"(or set ${ENV_VAR}), or run once with network access so tensorflow-datasets "
        f"can download {spec.tfds_name or name!r}."
    )


def _take(images, labels, n):
    if n is None:
        return images, labels
    if n > len(images):
        raise ValueError(f"Asked for n={n} examples, but the split has {len(images)}")
    return images[:n], labels[:n]


def load_numpy(name, split, data_dir=None, n=None, download=True):
    """`(x float32 in [0, 1] NHWC, y int64)`: the first `n` examples, for evaluation."""
    images, labels, _ = load_uint8(name, split, data_dir, download)
    images, labels = _take(images, labels, n)
    return images.astype(np.float32) / 255.0, labels


def load(
    name,
    split,
    data_dir=None,
    batch_size=None,
    shuffle=False,
    augment=False,
    n=None,
    seed=0,
    download=True,
):
    """A `tf.data.Dataset` of `(float32 image in [0, 1] HWC, int64 label)`.

    Args:
        name: a registered dataset (`tfrobust.data.list_datasets()`).
        split: `"train"` or `"test"`.
        data_dir: folder with the files in a standard format (see the README).
        batch_size: batch the dataset when given.
        shuffle: reshuffle every epoch (with `seed`).
        augment: random pad-and-crop and horizontal flip (`augment.py`).
        n: keep only the first `n` examples.
        download: let tensorflow-datasets download when no local copy exists.
    """
    import tensorflow as tf

    from tfrobust.data.augment import augment as augment_image

    images, labels, _ = load_uint8(name, split, data_dir, download)
    images, labels = _take(images, labels, n)
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(
        lambda x, y: (tf.cast(x, tf.float32) / 255.0, y), num_parallel_calls=tf.data.AUTOTUNE
    )
    if augment:  # each image's crop and flip from its own seed, new ones every epoch
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip(ds, seeds).map(
            lambda xy, s: (augment_image(xy[0], s), xy[1]), num_parallel_calls=tf.data.AUTOTUNE
        )
    if batch_size:
        ds = ds.batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE)
