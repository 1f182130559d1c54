"""Decode a dataset once, keep it as an uncompressed `.npz`, reuse it after.

Decoding 60,000 JPEGs takes seconds; reading the cache takes milliseconds. The
cache key covers the source files' paths, sizes and modification times, so a
replaced file is decoded (and checksum-verified) again, and the order the
format returns the images in (`order`), so a cache decoded in another order
(the class-by-class order of image folders before `FORMAT_VERSION` 2) is never
served. Files are written to a temporary name and renamed, so an interrupted
run never leaves a half cache.
"""

import hashlib
import json
import os
import pathlib
import warnings
import zipfile

import numpy as np

from tfrobust.zoo.files import atomic_path

FORMAT_VERSION = 2


def cache_dir():
    default = pathlib.Path.home() / ".cache" / "tfrobust"
    return pathlib.Path(os.environ.get("TFROBUST_CACHE_DIR", default)) / "data"


def cache_path(name, split, sources, order):
    stats = [
        (str(pathlib.Path(p).resolve()), os.path.getsize(p), os.path.getmtime(p)) for p in sources
    ]
    key = json.dumps([FORMAT_VERSION, name, split, order, stats]).encode()
    return cache_dir() / name / f"{split}-{hashlib.sha256(key).hexdigest()[:16]}.npz"


def load(path):
    """`(images, labels)` from a cache file, or None (with a warning) if it is damaged:
    the caller decodes the source files again and rewrites it."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return arrays["images"], arrays["labels"]
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as error:
        warnings.warn(
            f"The data cache {path} is damaged ({type(error).__name__}: {error}); "
            "rebuilding it from the source files.",
            stacklevel=2,
        )
        return None


def save(path, images, labels):
    """Write atomically, with the mode the umask gives (`zoo.files.atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, images=images, labels=labels)
