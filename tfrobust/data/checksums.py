"""Verify data files against the `SHA256SUMS` lists found beside or above them.

A corrupted or truncated download must fail loudly, never decode into silently
wrong images. A file without any entry is accepted (there is nothing to check).
"""

import hashlib
import pathlib

from tfrobust.data.errors import ChecksumError

SUMS_FILE = "SHA256SUMS"


def sha256(path, chunk_size=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_sums(sums_path):
    """Parse `sha256sum` output: `<hex>  <relative path>` per line."""
    entries = {}
    for line in pathlib.Path(sums_path).read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            entries[name.lstrip("*").strip()] = digest.lower()
    return entries


def expected_sha256(path, root):
    """The digest listed for `path` in a `SHA256SUMS` between its folder and `root`."""
    path, root = pathlib.Path(path).resolve(), pathlib.Path(root).resolve()
    for folder in [path.parent, *path.parent.parents]:
        sums = folder / SUMS_FILE
        if sums.is_file():
            entry = read_sums(sums).get(path.relative_to(folder).as_posix())
            if entry:
                return entry, sums
        if folder == root:
            break
    return None, None


def verify(paths, root):
    """Raise `ChecksumError` naming the first file whose digest does not match."""
    for path in paths:
        expected, sums = expected_sha256(path, root)
        if expected is None:
            continue
        actual = sha256(path)
        if actual != expected:
            raise ChecksumError(
                f"{path} is corrupted or incomplete: its SHA-256 is {actual}, but "
                f"{sums} lists {expected}. Download the file again."
            )
