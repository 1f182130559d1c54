"""A zoo entry: one folder per model, named by its ID `<dataset>/<model>`.

models/<dataset>/<model>/
    model.keras      weights and architecture (absent when the weights are remote)
    weights.json     {"file", "sha256", "url"}: checksum, and where to download from
    recipe.yaml      the resolved recipe it was trained with
    eval.json        written by `tfrobust.evaluation` (typed schema)
    MODEL_CARD.md    threat model, recipe, results beside the paper's numbers
    training_time.json   each epoch's wall time and machine (when recorded)
"""

import dataclasses
import os
import pathlib
import typing

import yaml

if typing.TYPE_CHECKING:  # importing tfrobust.evaluation loads Keras
    from tfrobust.evaluation.summary import EvalSummary

WEIGHTS = "model.keras"
WEIGHTS_INFO = "weights.json"
RECIPE = "recipe.yaml"
EVAL = "eval.json"
CARD = "MODEL_CARD.md"
TRAINING_TIME = "training_time.json"


def models_dir():
    """Where the zoo's entries are read from.

    `$TFROBUST_MODELS_DIR` (a local mirror: entries with their weights), else
    the `models/` folder when tfrobust runs from a source checkout, else the
    index installed with the package (weights downloaded on first use).
    """
    if "TFROBUST_MODELS_DIR" in os.environ:
        return pathlib.Path(os.environ["TFROBUST_MODELS_DIR"])
    checkout = pathlib.Path(__file__).resolve().parents[2]
    if (checkout / "setup.py").is_file() and (checkout / "models").is_dir():
        return checkout / "models"
    return pathlib.Path(__file__).resolve().parent / "index"


@dataclasses.dataclass(frozen=True)
class Entry:
    """What the zoo knows about one model, read from its folder."""

    name: str
    path: pathlib.Path
    dataset: str
    threat_model: str  # e.g. "Linf" or "L2"
    eps: float
    clean_accuracy: float
    robust_accuracy: float
    n: int
    reported: dict
    recipe: dict
    report_as: str
    summary: "EvalSummary" = dataclasses.field(repr=False, compare=False)  # its eval.json

    @classmethod
    def read(cls, path, name):
        from tfrobust.evaluation.report import read_json

        summary = read_json(path / EVAL)
        recipe = yaml.safe_load((path / RECIPE).read_text())
        return cls(
            name=name,
            path=path,
            dataset=recipe["dataset"]["name"],
            threat_model=summary.threat_model.norm.capitalize(),
            eps=summary.threat_model.eps,
            clean_accuracy=summary.clean_accuracy,
            robust_accuracy=summary.robust_accuracy,
            n=summary.n,
            reported=recipe.get("reported") or {},
            recipe=recipe,
            report_as=summary.dataset,
            summary=summary,
        )


def find_entries(root=None):
    """Every entry below `root` (default `models_dir()`), keyed by ID."""
    root = pathlib.Path(root) if root is not None else models_dir()
    entries = {}
    for eval_file in sorted(root.glob(f"*/*/{EVAL}")):
        name = eval_file.parent.relative_to(root).as_posix()
        entries[name] = Entry.read(eval_file.parent, name)
    return entries
