"""`list_models` and `load_model`: one call to a zoo model, as RobustBench users expect.

Loading is strict: the weights file must match the SHA-256 in `weights.json`,
and Keras refuses weights that do not fit the architecture. An entry without
a local weights file is fetched into the cache (`tfrobust.zoo.download`) from
`$TFROBUST_WEIGHTS_URL/<ID>/<file>` when that mirror is set, else from the
entry's `url`.
"""

import json
import os

from tfrobust.data.checksums import sha256
from tfrobust.zoo.download import WeightsChecksumError
from tfrobust.zoo.download import download
from tfrobust.zoo.entry import WEIGHTS
from tfrobust.zoo.entry import WEIGHTS_INFO
from tfrobust.zoo.entry import find_entries

MIRROR_ENV = "TFROBUST_WEIGHTS_URL"


def list_models(dataset=None, threat_model=None, root=None):
    """IDs of zoo models, optionally only those of a dataset and a threat model ("Linf", "L2")."""
    return [
        name
        for name, e in find_entries(root).items()
        if (dataset is None or e.dataset == dataset)
        and (threat_model is None or e.threat_model.lower() == threat_model.lower())
    ]


def weights_url(entry, info):
    """Where `entry`'s weights are downloaded from, or None if nowhere is known."""
    mirror = os.environ.get(MIRROR_ENV)
    if mirror:
        return f"{mirror.rstrip('/')}/{entry.name}/{info.get('file', WEIGHTS)}"
    return info.get("url")


def weights_path(entry, progress=None):
    """The verified local weights of `entry`, downloaded first if they are remote."""
    info = json.loads((entry.path / WEIGHTS_INFO).read_text())
    local = entry.path / info.get("file", WEIGHTS)
    if local.is_file():
        actual = sha256(local)
        if actual != info["sha256"]:
            raise WeightsChecksumError(
                f"{local} has SHA-256 {actual}, but {entry.path / WEIGHTS_INFO} lists "
                f"{info['sha256']}: the weights were modified or damaged."
            )
        return local
    url = weights_url(entry, info)
    if not url:
        raise FileNotFoundError(
            f"{entry.name}: its weights are not published for download yet (url is null in "
            f"{entry.path / WEIGHTS_INFO}). Get {local.name} (SHA-256 {info['sha256'][:16]}...) "
            "from a tfrobust source checkout and set TFROBUST_MODELS_DIR to its models/ folder, "
            f"or set {MIRROR_ENV} to a server holding <ID>/{local.name}."
        )
    return download(url, info["sha256"], local.name, progress=progress)


def load_model(name, root=None, progress=None):
    """The zoo model `name` (`list_models()`), ready for inference on [0, 1] images."""
    from tfrobust.saving import load_keras

    entries = find_entries(root)
    if name not in entries:
        raise ValueError(f"Unknown zoo model {name!r}. Available: {', '.join(entries) or 'none'}")
    model = load_keras(weights_path(entries[name], progress))
    model.trainable = False
    return model
