"""The IDX format of MNIST and Fashion-MNIST (`train-images-idx3-ubyte.gz`, ...)."""

import gzip
import pathlib

import numpy as np

PREFIX = {"train": "train", "test": "t10k"}


def read_idx(path):
    """Decode one IDX file (gzip or plain) into a NumPy array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: header says {shape}, found {body.size} bytes")
    return body.reshape(shape)


class Idx:
    """MNIST-style IDX files in `<data_dir>/<folder>/`, gzip-compressed or not."""

    order = "canonical"  # the files' own order, the one papers evaluate on

    def __init__(self, folder):
        self.folder = folder

    def _names(self, split):
        prefix = PREFIX[split]
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]

    def describe(self, split):
        return " + ".join(f"{self.folder}/{n}.gz" for n in self._names(split))

    def files(self, root, split):
        found = []
        for name in self._names(split):
            candidates = [pathlib.Path(root, self.folder, name + ext) for ext in (".gz", "")]
            hit = next((p for p in candidates if p.is_file()), None)
            if hit is None:
                return None
            found.append(hit)
        return found

    def read(self, files, split):
        images, labels = (read_idx(p) for p in files)
        if len(images) != len(labels):
            raise ValueError(
                f"{files[0]} has {len(images)} images but {files[1]} has {len(labels)} labels"
            )
        return images[..., None], labels.astype(np.int64)
