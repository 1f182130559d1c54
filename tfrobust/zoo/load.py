"""`list_models` and `load_model`: one call to a zoo model, as RobustBench users expect.

Loading is strict: the weights file must match the SHA-256 in `weights.json`,
and Keras refuses weights that do not fit the architecture. Remote weights are
downloaded with `keras.utils.get_file` into a private temporary folder and
moved into the cache only once their checksum matches, so a bad download
leaves nothing behind.
"""

import json
import os
import pathlib
import shutil
import tempfile

from tfrobust.data.checksums import sha256
from tfrobust.zoo.entry import WEIGHTS
from tfrobust.zoo.entry import WEIGHTS_INFO
from tfrobust.zoo.entry import find_entries


class WeightsChecksumError(ValueError):
    """A weights file whose SHA-256 is not the one its zoo entry lists."""


def cache_dir():
    default = pathlib.Path.home() / ".cache" / "tfrobust"
    return pathlib.Path(os.environ.get("TFROBUST_CACHE_DIR", default)) / "models"


def list_models(dataset=None, threat_model=None, root=None):
    """IDs of zoo models, optionally only those of a dataset and a threat model ("Linf", "L2")."""
    return [name for name, e in find_entries(root).items()
            if (dataset is None or e.dataset == dataset)
            and (threat_model is None or e.threat_model.lower() == threat_model.lower())]


def download(url, expected_sha256, filename, cache=None):
    """The cached file for `url`, downloading it if needed; never keeps a file that fails its checksum."""
    import keras

    cache = pathlib.Path(cache or cache_dir())
    target = cache / expected_sha256[:16] / filename
    if target.is_file() and sha256(target) == expected_sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = tempfile.mkdtemp(dir=target.parent, prefix=".download-")
    try:
        path = keras.utils.get_file(fname=filename, origin=url, file_hash=expected_sha256,
                                    hash_algorithm="sha256", cache_dir=staging, cache_subdir="")
        os.replace(path, target)
    except ValueError as error:
        raise WeightsChecksumError(
            f"{url} downloaded, but its SHA-256 is not {expected_sha256}: the file is corrupted "
            f"or was replaced. Nothing was kept in {cache}. ({error})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def weights_path(entry):
    """The verified local weights of `entry`, downloaded first if they are remote."""
    info = json.loads((entry.path / WEIGHTS_INFO).read_text())
    local = entry.path / info.get("file", WEIGHTS)
    if local.is_file():
        actual = sha256(local)
        if actual != info["sha256"]:
            raise WeightsChecksumError(
                f"{local} has SHA-256 {actual}, but {entry.path / WEIGHTS_INFO} lists "
                f"{info['sha256']}: the weights were modified or damaged.")
        return local
    if not info.get("url"):
        raise FileNotFoundError(f"{entry.name}: no {local.name} in {entry.path} and no url in "
                                f"{WEIGHTS_INFO}")
    return download(info["url"], info["sha256"], local.name)


def load_model(name, root=None):
    """The zoo model `name` (`list_models()`), ready for inference on [0, 1] images."""
    import keras

    import tfrobust.architectures  # noqa: F401  registers the architectures' layers
    import tfrobust.layers  # noqa: F401  registers the defense layers

    entries = find_entries(root)
    if name not in entries:
        raise ValueError(f"Unknown zoo model {name!r}. Available: {', '.join(entries) or 'none'}")
    model = keras.saving.load_model(weights_path(entries[name]), compile=False)
    model.trainable = False
    return model
