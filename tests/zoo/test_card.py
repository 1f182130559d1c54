"""Model cards: Hugging Face sections, and numbers from the run, never from stale prose."""

import dataclasses
import json
import shutil

import pytest

from tfrobust.cli import main as cli
from tfrobust.evaluation.summary import EvalSummary
from tfrobust.evaluation.summary import SanityCheck
from tfrobust.recipes import load_recipe
from tfrobust.recipes.run import resolved
from tfrobust.zoo.card import NO_COMMAND
from tfrobust.zoo.card import entry_card
from tfrobust.zoo.card import model_card
from tfrobust.zoo.card import training_line
from tfrobust.zoo.card import write_cards
from tfrobust.zoo.entry import find_entries
from tfrobust.zoo.entry import models_dir
from tfrobust.zoo.eps_text import eps_text

RECIPE = "recipes/pgd_at_mnist_lenet.yaml"
NAME = "mnist/lenet-pgd_at"


def _card(request, overrides, command):
    recipe = load_recipe(request.config.rootpath / RECIPE, scale="cpu", overrides=overrides)
    summary = EvalSummary.from_dict(
        json.loads((models_dir() / "mnist/lenet-pgd_at/eval.json").read_text())
    )
    return model_card(resolved(recipe), summary, command)


def test_card_has_the_hub_sections_and_metadata(request):
    card = _card(request, [], f"tfrobust train {RECIPE} --scale cpu")
    assert card.startswith("---\nlibrary_name: keras\n")
    assert "datasets:\n- mnist" in card and "pipeline_tag: image-classification" in card
    for section in [
        "Model details",
        "Intended use",
        "Training data",
        "Training procedure",
        "Evaluation",
        "Limitations",
        "How to reproduce",
    ]:
        assert f"\n## {section}\n" in card, section
    eps = find_entries()[NAME].eps
    assert f"eps = {eps_text(eps)} in the [0, 1] pixel scale" in card


def test_card_counts_the_sanity_checks_and_names_a_failed_one(request):
    recipe = load_recipe(request.config.rootpath / RECIPE, scale="cpu")
    summary = EvalSummary.from_dict(
        json.loads((models_dir() / "mnist/lenet-pgd_at/eval.json").read_text())
    )
    assert f"Sanity checks: {len(summary.sanity)} run, all passed." in model_card(
        resolved(recipe), summary, "tfrobust train"
    )
    failed = SanityCheck(name="more_iterations", passed=False, message="80 steps helped", url="")
    summary = dataclasses.replace(summary, sanity=[*summary.sanity, failed])
    card = model_card(resolved(recipe), summary, "tfrobust train")
    assert (
        f"Sanity checks: {len(summary.sanity)} run, 1 FAILED: more_iterations: 80 steps helped"
    ) in card


def test_card_states_the_epochs_that_ran(request):
    command = f"tfrobust train {RECIPE} --scale cpu --set training.epochs=1"
    card = _card(request, ["training.epochs=1"], command)
    assert "- 1 epoch of adam" in card
    assert (
        "Recipe notes, written for the recipe without this run's --set training.epochs=1"
    ) in card
    assert "Recipe notes" not in _card(request, [], f"tfrobust train {RECIPE} --scale cpu")


OLD_CARD = """# mnist/lenet-pgd_at

## Caveats

- 5 epochs.

## Reproduce

```bash
tfrobust train recipes/pgd_at_mnist_lenet.yaml --scale cpu --set training.epochs=1
```
"""


@pytest.fixture
def zoo_copy(zoo_root, tmp_path):
    root = tmp_path / "models"
    shutil.copytree(zoo_root, root)
    return root


def test_zoo_cards_rewrites_an_old_card_keeping_its_command(zoo_copy, capsys):
    card = zoo_copy / NAME / "MODEL_CARD.md"
    written_by_the_run = card.read_text()
    assert cli.main(["zoo", "--models-dir", str(zoo_copy), "cards"]) == 0
    assert card.read_text() == written_by_the_run  # nothing lost: same files, same card
    assert capsys.readouterr().out == f"wrote {card}\n"
    card.write_text(OLD_CARD)
    assert cli.main(["zoo", "--models-dir", str(zoo_copy), "cards"]) == 0
    new = card.read_text()
    assert "\n## Intended use\n" in new and "## Caveats" not in new
    assert (
        "## How to reproduce\n\n```bash\ntfrobust train recipes/pgd_at_mnist_lenet.yaml "
        "--scale cpu --set training.epochs=1\n```"
    ) in new


def test_a_card_without_a_command_says_it_was_not_recorded(zoo_copy):
    card = zoo_copy / NAME / "MODEL_CARD.md"
    card.write_text("# mnist/lenet-pgd_at\n\nNo reproduce section.\n")
    write_cards(zoo_copy)
    first = card.read_text()
    assert NO_COMMAND in first and "```bash" not in first
    write_cards(zoo_copy)
    assert card.read_text() == first


def test_the_zoo_cards_are_what_zoo_cards_writes():
    stale = [
        name
        for name, entry in find_entries(models_dir()).items()
        if (entry.path / "MODEL_CARD.md").read_text() != entry_card(entry.path)
    ]
    assert stale == [], "run `tfrobust zoo cards`"


def test_card_gives_an_interval_that_is_honest_at_zero():
    """The card of the published Standard CIFAR-10 model (0 of 1,000 points robust): an
    exact interval, whose upper end is ~3/n ("rule of three"), not a standard error of 0."""
    card = (models_dir() / "cifar10/resnet18_w0.25-standard" / "MODEL_CARD.md").read_text()
    assert "| worst case | 0.00% |" in card
    assert "95% confidence interval of the worst-case accuracy is 0.00% to 0.37%" in card


def test_a_run_resumed_on_another_machine_gives_each_machines_share():
    def epoch(seconds, machine):
        return {"seconds": seconds, "machine": machine}

    slow, fast = "2 cores, AMD EPYC", "2 cores, AMD EPYC, oneDNN"
    times = {"epochs": {"0": epoch(1800, slow), "1": epoch(1800, slow), "2": epoch(600, fast)}}
    assert training_line(times) == (
        "Training time: 70.0 min of wall time for 3 epochs: "
        f"2 on {slow} (60.0 min); 1 on {fast} (10.0 min)."
    )
    del times["epochs"]["2"]
    assert training_line(times) == f"Training time: 60.0 min of wall time for 2 epochs on {slow}."


def test_the_data_set_up_is_named_once_it_takes_a_minute():
    """SAT computes a fixed model's saliency maps before its first epoch: part of its cost."""
    machine = "2 cores, AMD EPYC, oneDNN"
    times = {
        "epochs": {"0": {"seconds": 600, "machine": machine}},
        "setup": {"t0, epoch 0": {"seconds": 1080, "machine": machine}},
    }
    assert training_line(times) == (
        f"Training time: 10.0 min of wall time for 1 epochs on {machine}. Before that, "
        "18.0 min went to preparing the data (loading it and any precomputed saliency maps)."
    )
    times["setup"] = {"t0, epoch 0": {"seconds": 5, "machine": machine}}
    assert training_line(times).endswith(f"on {machine}.")
