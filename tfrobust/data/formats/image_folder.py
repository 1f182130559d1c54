"""The class-folder layout `<split>/<class>/<image>`, as a folder or a `.tar.gz`.

This is the layout `keras.utils.image_dataset_from_directory` reads. Images are
decoded with Pillow (fast for small images) and resized only when their size
differs from the dataset's.

Order: such a layout keeps no original order (the CIFAR-10 (JPEG) files are
numbered per class, `airplane/0000.jpg`...), and class by class would make "the
first n images" one class. A split is therefore returned in one fixed, seeded
order that mixes the classes: its images sorted by `order_key`, the SHA-256 of
`"<ORDER_SEED>/<class>/<file name>"`. The key of an image depends on nothing
else, so a folder and its `.tar.gz` give the same order, and any subset of a
split (the bundled sample) keeps the order the images have in the full split.
`ORDER` names it in caches and evaluation reports; change it with the rule.
"""

import hashlib
import io
import pathlib
import tarfile

import numpy as np
from PIL import Image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
ORDER_SEED = 0
ORDER = f"path-sha256-v1(seed={ORDER_SEED})"


def order_key(class_name, file_name, seed=ORDER_SEED):
    """Where an image of `class_name` named `file_name` comes in its split: sort by this."""
    return hashlib.sha256(f"{seed}/{class_name}/{file_name}".encode()).hexdigest()


class ImageFolder:
    """Images under `<data_dir>/<folder>/<split>[.tar.gz]/<class>/...`.

    Args:
        folder: folder name under the data directory.
        class_names: label order; the sorted class folders when `None`.
        image_size: `(height, width)` every image is resized to if needed.
        split_aliases: other folder names a split may have (ImageNet's `val`).
        report_as: how results on this copy must be labelled, when it differs
            from the original dataset (re-encoded images, for example).
    """

    order = ORDER

    def __init__(
        self, folder, class_names=None, image_size=None, split_aliases=None, report_as=None
    ):
        self.folder = folder
        self.report_as = report_as
        self.class_names = class_names
        self.image_size = image_size
        self.split_aliases = split_aliases or {}

    def _split_names(self, split):
        return [split, *self.split_aliases.get(split, ())]

    def describe(self, split):
        names = self._split_names(split)
        return " or ".join(
            f"{self.folder}/{n}.tar.gz or {self.folder}/{n}/<class>/*.jpg" for n in names
        )

    def files(self, root, split):
        for name in self._split_names(split):
            base = pathlib.Path(root, self.folder, name)
            archive = base.with_name(name + ".tar.gz")
            if archive.is_file():
                return [archive]
            if base.is_dir():
                return sorted(p for p in base.glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES)
        return None

    def _members(self, files):
        """Yield `(path, class_name, image bytes)` from an archive or loose files."""
        if len(files) == 1 and files[0].name.endswith(".tar.gz"):
            with tarfile.open(files[0], "r:gz") as archive:
                for member in archive:
                    parts = pathlib.PurePosixPath(member.name).parts
                    if member.isfile() and member.name.lower().endswith(IMAGE_SUFFIXES):
                        yield member.name, parts[-2], archive.extractfile(member).read()
        else:
            for path in files:
                yield str(path), path.parent.name, path.read_bytes()

    def _decode(self, data):
        image = Image.open(io.BytesIO(data)).convert("RGB")
        if self.image_size and image.size != self.image_size[::-1]:
            image = image.resize(self.image_size[::-1], Image.BILINEAR)
        return np.asarray(image, dtype=np.uint8)

    def read(self, files, split):
        names, images = [], []
        members = sorted(
            self._members(files), key=lambda m: order_key(m[1], pathlib.PurePosixPath(m[0]).name)
        )
        for _, class_name, data in members:
            names.append(class_name)
            images.append(self._decode(data))
        if not images:
            raise ValueError(f"no images found in {files[0]}")
        classes = self.class_names or sorted(set(names))
        index = {name: i for i, name in enumerate(classes)}
        unknown = sorted(set(names) - set(index))
        if unknown:
            raise ValueError(
                f"{files[0]}: unexpected class folders {unknown}; expected {list(classes)}"
            )
        labels = np.array([index[n] for n in names], dtype=np.int64)
        return np.stack(images), labels
