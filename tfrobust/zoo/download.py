"""Fetch a weights file by URL into the cache, keeping it only if its SHA-256 matches.

The bytes stream into a temporary file beside the target (`files.atomic_path`)
while they are hashed; the file is moved into place only after the whole body
arrived and its checksum is the expected one. A 404, a refused connection, a
server that stops halfway or a corrupted body each raise `DownloadError` (or
`WeightsChecksumError`) and leave nothing in the cache.
"""

import hashlib
import http.client
import os
import pathlib
import urllib.error
import urllib.request

from tfrobust.zoo.files import atomic_path

TIMEOUT_S = 60
CHUNK = 1 << 20


class DownloadError(OSError):
    """Weights that could not be fetched: the URL is unreachable or the transfer broke off."""


class WeightsChecksumError(ValueError):
    """A weights file whose SHA-256 is not the one its zoo entry lists."""


def cache_dir():
    """`$TFROBUST_CACHE_DIR/models`, else `~/.cache/tfrobust/models`."""
    default = pathlib.Path.home() / ".cache" / "tfrobust"
    return pathlib.Path(os.environ.get("TFROBUST_CACHE_DIR", default)) / "models"


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(url, tmp, progress):
    """Stream `url` into `tmp`; return its SHA-256. Raise `DownloadError` if it breaks off."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(tmp, "wb") as f:
            expected = int(response.headers.get("Content-Length") or 0) or None
            received = 0
            if progress is not None:
                progress.start(expected)
            while chunk := response.read(CHUNK):
                f.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if progress is not None:
                    progress.advance(len(chunk))
    except urllib.error.HTTPError as error:
        raise DownloadError(
            f"Could not download {url}: HTTP {error.code} {error.reason}."
        ) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise DownloadError(f"Could not download {url}: {reason}.") from None
    finally:
        if progress is not None:
            progress.stop()
    if expected is not None and received != expected:
        raise DownloadError(
            f"Download of {url} stopped after {received} of {expected} bytes; "
            "run the command again."
        )
    return digest.hexdigest()


def download(url, expected_sha256, filename, cache=None, progress=None):
    """The cached, verified file for `url`, downloaded first if it is not cached yet.

    `progress`, if given, has `start(total_bytes_or_None)`, `advance(n)` and `stop()`.
    """
    cache = pathlib.Path(cache or cache_dir())
    target = cache / expected_sha256[:16] / filename
    if target.is_file():
        if _sha256(target) == expected_sha256:
            return target
        target.unlink()  # damaged since it was verified: fetch it again
    try:
        with atomic_path(target) as tmp:
            actual = _fetch(url, tmp, progress)
            if actual != expected_sha256:
                raise WeightsChecksumError(
                    f"{url} downloaded, but its SHA-256 is {actual}, not {expected_sha256}: the "
                    f"file is corrupted or was replaced. Nothing was kept in {cache}."
                )
    except (DownloadError, WeightsChecksumError):
        _remove_empty(target.parent, cache)
        raise
    return target


def _remove_empty(folder, stop):
    """Remove `folder` and its parents up to `stop` (excluded) while they are empty."""
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
