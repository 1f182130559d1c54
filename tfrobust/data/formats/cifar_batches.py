"""The 'python version' of CIFAR-10/100: pickled batches of uint8 rows.

These files are pickles, so they are read with an unpickler that only accepts
the builtins and NumPy array reconstruction the format needs: a tampered file
cannot run code.
"""

import pathlib
import pickle

import numpy as np

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR batch")


def read_batch(path):
    with open(path, "rb") as f:
        return _SafeUnpickler(f, encoding="bytes").load()


class CifarBatches:
    """`cifar-10-batches-py/` (data_batch_1..5, test_batch) or `cifar-100-python/`."""

    order = "canonical"  # the batches' own order, the one papers evaluate on

    def __init__(self, folder, split_files, label_key):
        self.folder = folder
        self.split_files = split_files
        self.label_key = label_key

    def describe(self, split):
        return f"{self.folder}/{{{','.join(self.split_files[split])}}}"

    def files(self, root, split):
        paths = [pathlib.Path(root, self.folder, name) for name in self.split_files[split]]
        return paths if all(p.is_file() for p in paths) else None

    def read(self, files, split):
        images, labels = [], []
        for path in files:
            batch = read_batch(path)
            images.append(np.asarray(batch[b"data"], dtype=np.uint8))
            labels.append(np.asarray(batch[self.label_key], dtype=np.int64))
        images = np.concatenate(images).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return np.ascontiguousarray(images), np.concatenate(labels)
