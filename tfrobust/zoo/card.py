"""`MODEL_CARD.md`: what a model is, how it was trained, what it scores, and its limits.

The sections follow the Hugging Face / Kaggle model card (metadata header,
model details, intended use, training data, training procedure, evaluation,
limitations), so an entry can be uploaded to a hub as it is. Every number
comes from the resolved recipe or the `EvalSummary`, never from prose, so a
run with `--set training.epochs=1` says 1 epoch. `tfrobust zoo cards`
(`write_cards`) rewrites every entry's card from its files, keeping the training
command the card states, so a change of format reaches the published cards.
"""

import json
import re
import shlex

import yaml

from tfrobust.zoo.entry import CARD
from tfrobust.zoo.entry import EVAL
from tfrobust.zoo.entry import RECIPE
from tfrobust.zoo.entry import TRAINING_TIME
from tfrobust.zoo.entry import find_entries
from tfrobust.zoo.eps_text import eps_text
from tfrobust.zoo.files import write_text

NORMS = {"linf": "L-inf", "l2": "L2", "l1": "L1"}
NO_COMMAND = (
    "The command that trained this model was not recorded; `tfrobust train` with the "
    "recipe below trains the same setting."
)


def confidence_interval(accuracy, n):
    """The exact 95% interval of an accuracy measured on `n` points; unlike a standard
    error it stays honest at 0% and 100%, where the normal approximation gives zero."""
    from scipy import stats

    return stats.binomtest(round(accuracy * n), n).proportion_ci(0.95)


def _pct(value):
    return f"{100 * value:.2f}%"


def _validation_text(dataset):
    """Where validation during training came from: held out of the training split (recipe
    `dataset.validation`), or, in recipes resolved before it existed (`n_val`), the first
    test images, used for monitoring only."""
    held_out = (dataset.get("validation") or {}).get("n")
    if held_out:
        return (
            f"; {held_out} images held out of it for validation (seed "
            f"{dataset['validation'].get('seed', 0)})."
        )
    if dataset.get("n_val"):
        return (
            f". Validation during training used the first {dataset['n_val']} test images, "
            "for monitoring only (no model was selected on them); this run predates the "
            "held-out validation split."
        )
    return "."


def training_line(training_time):
    """One sentence on how long training took, from `training_time.json`'s contents.

    A run resumed elsewhere gives each machine's share, since their speeds differ.
    Preparing the data before the first epoch (`setup`) is named once it takes a
    minute: SAT's saliency maps of a fixed model are part of what the method costs.
    """
    epochs = (training_time or {}).get("epochs", {})
    if not epochs:
        return "Training time: not recorded."
    seconds = sum(e["seconds"] for e in epochs.values())
    by_machine = {}
    for e in epochs.values():
        by_machine.setdefault(e["machine"], []).append(e["seconds"])
    line = f"Training time: {seconds / 60:.1f} min of wall time for {len(epochs)} epochs"
    if len(by_machine) == 1:
        line += f" on {next(iter(by_machine))}."
    else:
        shares = "; ".join(
            f"{len(times)} on {name} ({sum(times) / 60:.1f} min)"
            for name, times in by_machine.items()
        )
        line += f": {shares}."
    setup = sum(s["seconds"] for s in training_time.get("setup", {}).values())
    if setup >= 60:
        line += (
            f" Before that, {setup / 60:.1f} min went to preparing the data "
            "(loading it and any precomputed saliency maps)."
        )
    return line


def overrides(command):
    """The `--set KEY=VALUE` options of the training command (a scale's notes cover the scale)."""
    words = shlex.split(command or "")
    found = []
    for i, word in enumerate(words):
        if word == "--set" and i + 1 < len(words):
            found.append(f"--set {words[i + 1]}")
        elif word.startswith("--set="):
            found.append(word.replace("=", " ", 1))
    return found


def _front_matter(recipe_dict):
    """The YAML header hubs read: library, tags, datasets, metrics."""
    meta = {
        "library_name": "keras",
        "tags": [
            "tfrobust",
            "adversarial-robustness",
            "image-classification",
            recipe_dict["objective"]["name"],
        ],
        "datasets": [recipe_dict["dataset"]["name"]],
        "metrics": ["accuracy"],
        "pipeline_tag": "image-classification",
    }
    return ["---", yaml.safe_dump(meta, sort_keys=False).strip(), "---", ""]


def _procedure(recipe_dict):
    training, attack = recipe_dict["training"], recipe_dict.get("attack") or {}
    optimizer = training["optimizer"]
    args = ", ".join(
        f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in (attack.get("args") or {}).items()
    )
    return [
        f"- Objective: `{recipe_dict['objective']['name']}`; training attack: "
        f"`{attack.get('name', 'none')}`" + (f" ({args})" if args else "") + ".",
        f"- {training['epochs']} epoch{'s' * (training['epochs'] != 1)} of "
        f"{optimizer['name']} (learning rate "
        f"{optimizer['learning_rate']:g}, {training['schedule']['name']} schedule), "
        f"batch size {training['batch_size']}, seed {training['seed']}"
        + (
            f", dtype policy {policy}."
            if (policy := training.get("dtype_policy", "float32")) != "float32"
            else "."
        ),
    ]


def model_card(recipe_dict, summary, command, training_time=None):
    """The card's Markdown from the resolved recipe, the `EvalSummary` and the epoch times.

    `command` is the training command as typed, or None where it was not recorded.
    """
    threat = summary.threat_model
    dataset = recipe_dict["dataset"]
    lines = _front_matter(recipe_dict) + [
        f"# {recipe_dict['name']}",
        "",
        "## Model details",
        "",
        f"- Paper: {recipe_dict['paper']}",
        f"- Architecture: `{recipe_dict['model']['architecture']}` (width "
        f"{recipe_dict['model']['width']:g}), a Keras 3 model taking images in [0, 1] and "
        "returning logits.",
        f"- Threat model: {NORMS[threat.norm]}, eps = {eps_text(threat.eps)} in the [0, 1] pixel "
        "scale, white-box.",
        "",
        "## Intended use",
        "",
        f"Research on adversarial robustness: a baseline or a target for attacks on "
        f"{dataset['name']} under the threat model above, loaded with "
        f"`tfrobust.zoo.load_model({recipe_dict['name']!r})`. Not for deployment where "
        "security depends on it: robustness is measured only against the attacks listed below "
        "and only within that budget.",
        "",
        "## Training data",
        "",
        f"The {dataset['name']} training split"
        + (f" (first {dataset['n_train']} images)" if dataset.get("n_train") else "")
        + (", with augmentation" if dataset.get("augment") else ", without augmentation")
        + _validation_text(dataset),
        "",
        "## Training procedure",
        "",
        *_procedure(recipe_dict),
        f"- {training_line(training_time)}",
        "",
        "## Evaluation",
        "",
        f"Measured by `tfrobust.evaluation` on the first {summary.n} test images of "
        f"**{summary.dataset}** in the order {summary.data_order or 'unrecorded'} "
        f"(points SHA-256 `{summary.points_sha256[:16] or 'unrecorded'}`, seed "
        f"{summary.seed}); a point is robust only if it survives every attack."
        + (
            f" Clean accuracy on the first {summary.test_clean['n']} test images: "
            f"{_pct(summary.test_clean['accuracy'])}."
            if summary.test_clean
            else ""
        ),
        "",
        "| metric | this model | paper (reported) |",
        "|---|---:|---:|",
    ]
    reported = recipe_dict.get("reported") or {}
    rows = [("clean", summary.clean_accuracy)]
    rows += [(a.name, a.robust_accuracy) for a in summary.attacks]
    rows += [("worst case", summary.robust_accuracy)]
    for name, value in rows:
        paper = reported.get(name)
        paper_text = f"{_pct(paper['accuracy'])} ({paper['source']})" if paper else "-"
        lines.append(f"| {name} | {_pct(value)} | {paper_text} |")
    failed = [c for c in summary.sanity if not c.passed]
    lines += [
        "",
        "Sanity checks: "
        + (
            f"{len(summary.sanity)} run, all passed."
            if summary.sanity and not failed
            else f"{len(summary.sanity)} run, {len(failed)} FAILED: "
            + "; ".join(f"{c.name}: {c.message}" for c in failed)
            if failed
            else "not run."
        ),
        f"Evaluation time: {summary.wall_time_s / 60:.1f} min.",
        "",
    ]
    lines += ["## Limitations", ""]
    if summary.dataset != dataset["name"]:
        lines.append(
            f"- Evaluated on **{summary.dataset}**, not the original "
            f"{dataset['name']}: the paper's numbers are not directly comparable."
        )
    if recipe_dict.get("notes"):
        changed = overrides(command)
        lines.append(
            "- "
            + (
                f"Recipe notes, written for the recipe without this run's "
                f"{' '.join(changed)} (the numbers above are this run's): "
                if changed
                else ""
            )
            + recipe_dict["notes"].strip()
        )
    if summary.n:
        low, high = confidence_interval(summary.robust_accuracy, summary.n)
        lines.append(
            f"- Evaluated on {summary.n} test images: the exact (Clopper-Pearson) 95% "
            f"confidence interval of the worst-case accuracy is {_pct(low)} to {_pct(high)}."
        )
    lines += [
        "",
        "## How to reproduce",
        "",
        *(["```bash", command, "```"] if command else [NO_COMMAND]),
        "",
        "## Training recipe (resolved)",
        "",
        "```yaml",
        yaml.safe_dump(
            {k: v for k, v in recipe_dict.items() if k != "scales"}, sort_keys=False
        ).strip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def recorded_command(card_text):
    """The training command a card states (this format's or the older "## Reproduce"), or None."""
    found = re.search(
        r"^## (?:How to reproduce|Reproduce)\n\n```bash\n(.+?)\n```",
        card_text,
        re.MULTILINE | re.DOTALL,
    )
    return found.group(1) if found else None


def entry_card(path, command=None):
    """The card of the entry in folder `path`, from its files: the one way cards are made.

    The recipe, evaluation and epoch times are on disk, but the command as typed is
    only in the card: without `command`, the one the existing card states is kept, so
    a card regenerated in a newer format still says how it was made.
    """
    from tfrobust.evaluation.summary import EvalSummary

    card = path / CARD
    if command is None and card.is_file():
        command = recorded_command(card.read_text())
    times = path / TRAINING_TIME
    return model_card(
        yaml.safe_load((path / RECIPE).read_text()),
        EvalSummary.from_dict(json.loads((path / EVAL).read_text())),
        command,
        json.loads(times.read_text()) if times.is_file() else None,
    )


def write_cards(root):
    """Rewrite every entry's card below `root` (`tfrobust zoo cards`); return their paths."""
    paths = []
    for entry in find_entries(root).values():
        write_text(entry.path / CARD, entry_card(entry.path))
        paths.append(entry.path / CARD)
    return paths
