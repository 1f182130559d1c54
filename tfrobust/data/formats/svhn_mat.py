"""SVHN's cropped-digits MATLAB files (`train_32x32.mat`, `test_32x32.mat`)."""

import pathlib

import numpy as np


class SvhnMat:
    """`<data_dir>/<folder>/<split>_32x32.mat`; SVHN stores digit 0 as label 10."""

    order = "canonical"  # the files' own order

    def __init__(self, folder):
        self.folder = folder

    def describe(self, split):
        return f"{self.folder}/{split}_32x32.mat"

    def files(self, root, split):
        path = pathlib.Path(root, self.folder, f"{split}_32x32.mat")
        return [path] if path.is_file() else None

    def read(self, files, split):
        import scipy.io

        mat = scipy.io.loadmat(files[0])
        images = np.ascontiguousarray(mat["X"].transpose(3, 0, 1, 2), dtype=np.uint8)
        labels = mat["y"].reshape(-1).astype(np.int64) % 10
        return images, labels
