"""Write a small, class-balanced sample of a dataset in its own standard format.

The package ships such a sample (`SAMPLE_DIR`) for the demo and the fast
tests; `tfrobust data sample` regenerates it from the full files. The sample
keeps each split's order (see `tfrobust.data.load`): MNIST's first images, and
of a class-folder split the first images of each class in its seeded order, so
the sample is a subsequence of the full split and its first images mix the
classes as the full split's do.
"""

import gzip
import io
import pathlib
import tarfile

import numpy as np

from tfrobust.data import checksums
from tfrobust.data.formats.idx import PREFIX
from tfrobust.data.formats.idx import read_idx
from tfrobust.data.formats.image_folder import order_key


def _write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def sample_mnist(src, dst, sizes):
    """The first `sizes[split]` images of each split, as IDX .gz files."""
    dst.mkdir(parents=True, exist_ok=True)
    for split, n in sizes.items():
        for kind in ("images-idx3", "labels-idx1"):
            name = f"{PREFIX[split]}-{kind}-ubyte"
            _write_idx(dst / f"{name}.gz", read_idx(src / f"{name}.gz")[:n])


def sample_image_folder(src, dst, sizes):
    """`sizes[split] / classes` images per class, the first of each class in the
    split's seeded order (`image_folder.order_key`), keeping the original JPEG bytes."""

    def key(name):
        parts = pathlib.PurePosixPath(name).parts
        return order_key(parts[-2], parts[-1])

    dst.mkdir(parents=True, exist_ok=True)
    for split, n in sizes.items():
        with tarfile.open(src / f"{split}.tar.gz", "r:gz") as archive:
            names = sorted((m.name for m in archive if m.isfile()), key=key)
            by_class = {}
            for name in names:
                by_class.setdefault(pathlib.PurePosixPath(name).parts[-2], []).append(name)
            per_class = n // len(by_class)
            chosen = {name for names_ in by_class.values() for name in names_[:per_class]}
            # One pass in archive order: a gzip stream cannot seek back cheaply.
            data = {m.name: archive.extractfile(m).read() for m in archive if m.name in chosen}
        # gzip with mtime 0, so the same source gives the same bytes.
        with (
            gzip.GzipFile(dst / f"{split}.tar.gz", "wb", mtime=0) as gz,
            tarfile.open(fileobj=gz, mode="w") as out,
        ):
            for name in sorted(chosen, key=key):
                info = tarfile.TarInfo(name)
                info.size, info.mtime = len(data[name]), 0
                out.addfile(info, io.BytesIO(data[name]))


def write_sums(root):
    """A `SHA256SUMS` for every file below `root`, like `sha256sum` writes."""
    root = pathlib.Path(root)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != checksums.SUMS_FILE)
    lines = [f"{checksums.sha256(p)}  {p.relative_to(root).as_posix()}" for p in files]
    (root / checksums.SUMS_FILE).write_text("\n".join(lines) + "\n")


def write_sample(src, dst, mnist_sizes=None, cifar_sizes=None):
    src, dst = pathlib.Path(src), pathlib.Path(dst)
    sample_mnist(src / "mnist", dst / "mnist", mnist_sizes or {"train": 2000, "test": 500})
    sample_image_folder(
        src / "cifar10-jpeg", dst / "cifar10-jpeg", cifar_sizes or {"train": 1000, "test": 500}
    )
    write_sums(dst)
