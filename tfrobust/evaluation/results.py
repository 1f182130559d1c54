"""One file per attack, so a long evaluation that is killed resumes attack by attack.

A zoo evaluation (AutoAttack on 1,000 CIFAR-10 points) can outlast the
machine it runs on. `evaluate(..., resume_dir=...)` writes each attack's
per-point result as soon as it is known, atomically, and reads it back on a
rerun. A file counts only for the same points (their SHA-256), threat model,
seed and attack configuration; anything else is recomputed and overwritten.
"""

import json
import pathlib
import re

import numpy as np

from tfrobust.zoo.files import write_text


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

    def _key(self, attack, eps):
        return json.loads(
            json.dumps({**self.key, "eps": float(eps), "config": attack.get_config()}, default=str)
        )

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
        return np.array([c == "1" for c in record["robust"]], bool)

    def save(self, tally, attack, eps, robust):
        record = {
            "key": self._key(attack, eps),
            "seconds": tally.seconds,
            "stages": [[name, counts] for name, counts in tally.stages.items()],
            "skipped": list(tally.skipped),
            "robust": "".join("1" if r else "0" for r in robust),
        }
        write_text(self._path(tally.name, eps), json.dumps(record) + "\n")
