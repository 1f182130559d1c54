"""Atomic file writes: a temporary file in the same folder, then `os.replace`.

A killed run leaves either the old file or the new one, never half of one.
"""

import contextlib
import os
import pathlib
import tempfile


def umask_mode(folder=False):
    """The mode the user's umask gives a new file (or folder): `mkstemp` and `mkdtemp`
    create 0600 / 0700, which a rename would otherwise keep."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if folder else 0o666) & ~umask


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to `path`; move it onto `path` if the block succeeds."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield pathlib.Path(tmp)
        os.chmod(tmp, umask_mode())  # mkstemp's 0600 is for the temporary name only
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path, text):
    with atomic_path(path) as tmp:
        tmp.write_text(text)
