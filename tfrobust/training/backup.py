"""Per-epoch training state on disk, so that a resumed run equals an uninterrupted one.

What an epoch depends on is saved after it, in one folder written under a
temporary name and renamed (a kill leaves the previous epoch's folder intact):
the weights, the training attack's variables (SAT's alpha^t, which
`AdversarialModel` tracks) and the optimizer state (`save_weights`), and the
random states of every `keras.random.SeedGenerator` (the training attack's,
dropout's), which `save_weights` leaves out. The weights are saved in shards
of at most 4 MiB (`SHARD_GB`), so that a stopped run's state can be committed
to `models/pending/` (5 MB per file), or, where one variable is larger (Keras
does not split a variable), of the largest variable's size.
The data order and augmentation are a function of the epoch number
(`tfrobust.data.training_batches`), so the epoch to resume from
(`completed_epochs`) is all the data pipeline needs.

Keras's `BackupAndRestore` writes its weights and its epoch counter as two
files one after the other and keeps no random state; a kill between them, or
any resume at all, changed the run.
"""

import os
import pathlib
import re
import shutil

import keras
import numpy as np

WEIGHTS = "state.weights.json"  # the index of the shards `state_<i>.weights.h5`
SHARD_GB = 4 / 1024
RANDOM_STATE = "random_state.npz"
_EPOCH_DIR = re.compile(r"^epoch-(\d+)$")


def _epoch_dirs(folder):
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        return {}
    return {
        int(m.group(1)): path
        for path in folder.iterdir()
        if (m := _EPOCH_DIR.match(path.name)) and path.is_dir()
    }


def completed_epochs(folder):
    """Epochs finished and saved under `folder` (0: none; start from scratch)."""
    return max(_epoch_dirs(folder), default=0)


def _seed_states(model):
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def restore(model, folder):
    """Load the latest saved epoch into `model` (compiled); return its number (0: none)."""
    epoch = completed_epochs(folder)
    if not epoch:
        return 0
    path = _epoch_dirs(folder)[epoch]
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(path / WEIGHTS)
    with np.load(path / RANDOM_STATE) as saved:
        states = _seed_states(model)
        if len(saved.files) != len(states):
            raise ValueError(
                f"{path}: saved {len(saved.files)} random states, but the model has "
                f"{len(states)}; the backup is of another model. Delete {folder} "
                "to train from scratch."
            )
        for i, variable in enumerate(states):
            variable.assign(saved[f"s{i}"])
    return epoch


def _shard_gb(model):
    """`SHARD_GB`, or a little over the largest variable's size where that is larger."""
    largest = max(keras.ops.convert_to_numpy(v).nbytes for v in model.variables)
    return max(SHARD_GB, 1.25 * largest / 1024**3)


class EpochBackup(keras.callbacks.Callback):
    """Saves the training state after every epoch to `folder/epoch-<n>/` (see module doc)."""

    def __init__(self, folder):
        super().__init__()
        self.folder = pathlib.Path(folder)

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        tmp = self.folder / f".epoch-{done}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        self.model.save_weights(tmp / WEIGHTS, max_shard_size=_shard_gb(self.model))
        states = {
            f"s{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(_seed_states(self.model))
        }
        np.savez(tmp / RANDOM_STATE, **states)
        final = self.folder / f"epoch-{done}"
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        for old, path in _epoch_dirs(self.folder).items():
            if old < done:
                shutil.rmtree(path)
