"""One file per attack, so a long evaluation that is killed resumes where it stopped.

A zoo evaluation (AutoAttack on 1,000 CIFAR-10 points) can outlast the
machine it runs on. `evaluate(..., resume_dir=...)` writes each attack's
per-point result as soon as it is known, atomically, and reads it back on a
rerun. While an attack runs, a partial file holds the batches it has finished
and the state of its random generators after them, so a rerun goes on from the
next batch and computes what the uninterrupted run would have. A file counts
only for the same points (their SHA-256), threat model, seed and attack
configuration (and, for a partial file, batch size); anything else is
recomputed and overwritten.
"""

import dataclasses
import json
import pathlib
import re

import keras
import numpy as np

from tfrobust.evaluation.summary import from_bits
from tfrobust.evaluation.summary import to_bits
from tfrobust.zoo.files import write_text


def seed_states(attack, model, x, y):
    """The seed-generator state variables of `attack` as it runs on `model`: its own, or
    those of an ensemble's stages (`Ensemble.stages`, which may build them per model).
    An attack without a `seed_generator` holds no state that a resumed run could restore."""
    if hasattr(attack, "stages"):
        return [v for _, a in attack.stages(model, x, y) for v in seed_states(a, model, x, y)]
    generator = getattr(attack, "seed_generator", None)
    return [] if generator is None else [generator.state]


@dataclasses.dataclass(frozen=True)
class Partial:
    """The batches of one attack finished by an earlier run."""

    robust: np.ndarray  # the robust mask of the first len(robust) points
    seconds: float
    states: list  # values of `seed_states` after the last finished batch


class ResultStore:
    """Per-attack results under `folder`, keyed by attack name and budget."""

    def __init__(self, folder, points_sha256, norm, seed, attack_kwargs):
        self.folder = pathlib.Path(folder)
        self.key = {
            "points_sha256": points_sha256,
            "norm": norm,
            "seed": int(seed),
            "attack_kwargs": attack_kwargs or {},
        }

    def _path(self, name, eps):
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        return self.folder / f"{safe}@eps={eps:.6g}.json"

    def _key(self, attack, eps, **extra):
        key = {**self.key, "eps": float(eps), "config": attack.get_config(), **extra}
        return json.loads(json.dumps(key, default=str))

    def _partial_path(self, name, eps):
        return self._path(name, eps).with_suffix(".partial.json")

    def load(self, tally, attack, eps):
        """The robust mask stored for this attack (filling `tally`), or `None`."""
        path = self._path(tally.name, eps)
        if not path.is_file():
            return None
        record = json.loads(path.read_text())
        if record.get("key") != self._key(attack, eps):
            return None
        tally.seconds = record["seconds"]
        tally.stages = {name: list(counts) for name, counts in record["stages"]}
        tally.skipped = tuple(record["skipped"])
        return from_bits(record["robust"])

    def save(self, tally, attack, eps, robust):
        """Store an attack's result over all points; its partial file is then removed."""
        write_text(
            self._path(tally.name, eps),
            json.dumps(_record(tally, robust, self._key(attack, eps))) + "\n",
        )
        self._partial_path(tally.name, eps).unlink(missing_ok=True)

    def load_partial(self, tally, attack, eps, batch_size):
        """The `Partial` stored for this attack (filling `tally`'s stages), or `None`."""
        path = self._partial_path(tally.name, eps)
        if not path.is_file():
            return None
        record = json.loads(path.read_text())
        if record.get("key") != self._key(attack, eps, batch_size=batch_size):
            return None
        tally.stages = {name: list(counts) for name, counts in record["stages"]}
        tally.skipped = tuple(record["skipped"])
        states = [np.asarray(s, dtype=d) for s, d in zip(record["states"], record["dtypes"])]
        return Partial(from_bits(record["robust"]), record["seconds"], states)

    def save_partial(self, tally, attack, eps, batch_size, robust, seconds, states):
        """Store the first batches' result and the generators' `states` after them."""
        values = [keras.ops.convert_to_numpy(v.value) for v in states]
        record = {
            **_record(tally, robust, self._key(attack, eps, batch_size=batch_size)),
            "seconds": seconds,
            "states": [v.tolist() for v in values],
            "dtypes": [str(v.dtype) for v in values],
        }
        write_text(self._partial_path(tally.name, eps), json.dumps(record) + "\n")


def _record(tally, robust, key):
    return {
        "key": key,
        "seconds": tally.seconds,
        "stages": [[name, counts] for name, counts in tally.stages.items()],
        "skipped": list(tally.skipped),
        "robust": to_bits(robust),
    }
