"""`tfrobust zoo reproduction`: tables from the entries' eval.json, claims checked on them."""

import json
import pathlib
import shutil

import numpy as np
import pytest
import yaml

from tfrobust.evaluation.report import plot_curve
from tfrobust.zoo.entry import find_entries
from tfrobust.zoo.entry import models_dir
from tfrobust.zoo.reproduction import write_reproduction


def _zoo(tmp_path, threat_model):
    shutil.copytree(
        models_dir() / "mnist" / "lenet-standard", tmp_path / "mnist" / "lenet-standard"
    )
    table = {
        "id": "t",
        "title": "T",
        "threat_model": threat_model,
        "claim": {"text": "c", "metric": "pgd", "tolerance": 0.015},
        "columns": ["clean", "pgd"],
        "rows": ["mnist/lenet-standard", "mnist/lenet-x"],
    }
    (tmp_path / "tables.yaml").write_text(yaml.safe_dump([table]))
    return json.loads((tmp_path / "mnist" / "lenet-standard" / "eval.json").read_text())


def _two_entries(tmp_path):
    _zoo(tmp_path, {"norm": "linf", "eps": 0.3})
    shutil.copytree(models_dir() / "mnist" / "lenet-pgd_at", tmp_path / "mnist" / "lenet-pgd_at")


def _beats_table(tmp_path, winner, loser):
    """The reproduction text of a table claiming that `winner` beats `loser` under PGD."""
    table = {
        "id": "t",
        "title": "T",
        "threat_model": {"norm": "linf", "eps": 0.3},
        "claim": {"text": "c", "metric": "pgd", "beats": [[winner, loser]]},
        "columns": ["pgd"],
        "rows": [loser, winner],
    }
    (tmp_path / "tables.yaml").write_text(yaml.safe_dump([table]))
    return write_reproduction(tmp_path, tmp_path / "docs").read_text()


def test_table_cells_come_from_eval_json_and_missing_rows_say_so(tmp_path):
    summary = _zoo(tmp_path, {"norm": "linf", "eps": 0.3})
    text = write_reproduction(tmp_path, tmp_path / "docs").read_text()
    pgd = next(a["robust_accuracy"] for a in summary["attacks"] if a["name"] == "pgd")
    recipe = yaml.safe_load((tmp_path / "mnist" / "lenet-standard" / "recipe.yaml").read_text())
    paper = recipe["reported"]["pgd"]["accuracy"]
    assert f"{100 * summary['clean_accuracy']:.2f} / " in text
    assert f"{100 * pgd:.2f} / {100 * paper:.2f}" in text
    assert "| mnist/lenet-x | not trained yet |" in text
    verdict = "within" if abs(pgd - paper) <= 0.015 else "NOT within"
    assert f"vs the paper's {100 * paper:.2f}: {verdict} 1.5 points" in text
    assert (tmp_path / "docs" / "t.png").stat().st_size > 0


def test_a_row_that_failed_a_sanity_check_is_named_under_the_table(tmp_path):
    _two_entries(tmp_path)
    path = tmp_path / "mnist" / "lenet-pgd_at" / "eval.json"
    summary = json.loads(path.read_text())
    summary["sanity"][0]["passed"] = False
    path.write_text(json.dumps(summary))
    text = _beats_table(tmp_path, "mnist/lenet-pgd_at", "mnist/lenet-standard")
    failed = summary["sanity"][0]["name"]
    assert f"- mnist/lenet-pgd_at fails the sanity check {failed}:" in text
    assert "lenet-standard fails" not in text


def test_an_entry_under_another_threat_model_is_not_compared(tmp_path):
    _zoo(tmp_path, {"norm": "linf", "eps": 0.1})
    text = write_reproduction(tmp_path, tmp_path / "docs").read_text()
    assert "| mnist/lenet-standard | not comparable: evaluated at Linf eps 0.3 |" in text


def test_a_beats_claim_states_each_margin_against_the_sampling_error(tmp_path):
    _two_entries(tmp_path)
    text = _beats_table(tmp_path, "mnist/lenet-standard", "mnist/lenet-pgd_at")
    assert "mnist/lenet-standard does NOT beat mnist/lenet-pgd_at by pgd:" in text
    # Both entries kept their per-point masks on the same points: compared point by point.
    assert "on the same 1000 points, 0 are robust only under the first and 908 only" in text
    assert "McNemar's exact test gives p < 0.001, significant at the 0.05 level" in text
    assert "The claim does NOT hold: 1 significantly against it (all 1 comparison measured)" in text
    assert "points of the paper" not in text and "within" not in text  # no tolerance given


def test_the_summary_at_the_top_gives_each_tables_verdict(tmp_path):
    _two_entries(tmp_path)
    text = _beats_table(tmp_path, "mnist/lenet-standard", "mnist/lenet-pgd_at")
    summary, details = text.split("## T\n")
    assert "## Summary" in summary
    assert (
        "- **T.** Claim: c. The claim does NOT hold: 1 significantly against it "
        "(all 1 comparison measured)." in summary
    )
    assert "robust only under the first" not in summary and "only under the first" in details


def test_a_verdict_on_part_of_the_rows_says_the_rest_are_not_measured(tmp_path):
    _two_entries(tmp_path)
    winner, loser, untrained = "mnist/lenet-pgd_at", "mnist/lenet-standard", "mnist/lenet-x"
    table = {
        "id": "t",
        "title": "T",
        "threat_model": {"norm": "linf", "eps": 0.3},
        "claim": {"text": "c", "metric": "pgd", "beats": [[winner, loser], [winner, untrained]]},
        "columns": ["pgd"],
        "rows": [loser, untrained, winner],
    }
    (tmp_path / "tables.yaml").write_text(yaml.safe_dump([table]))
    text = write_reproduction(tmp_path, tmp_path / "docs").read_text()
    assert f"Not yet measured: {untrained}; the verdict covers the rest." in text
    assert "(on the 1 of 2 comparisons measured so far)" in text


def _with_masks(path, pgd_mask, points_sha256="ab" * 32, adaptive_mask=None):
    """Give an entry's eval.json per-point masks at eps, coherently: pgd's `pgd_mask`
    and, if given, an adaptive attack's `adaptive_mask` (the worst case is both)."""
    summary = json.loads(path.read_text())
    masks = {"pgd": pgd_mask}
    if adaptive_mask is not None:
        masks["joint-pgd"] = adaptive_mask
    n, worst = summary["n"], float(np.logical_and.reduce(list(masks.values())).mean())
    point = next(p for p in summary["curve"] if p["eps"] == summary["threat_model"]["eps"])
    point.update(
        robust_accuracy=worst,
        attacks={name: float(mask.mean()) for name, mask in masks.items()},
        robust={name: "".join("1" if r else "0" for r in mask) for name, mask in masks.items()},
    )
    clean = next(p for p in summary["curve"] if p["eps"] == 0)
    clean["robust"] = {"clean": "1" * round(clean["robust_accuracy"] * n)}
    clean["robust"]["clean"] += "0" * (n - len(clean["robust"]["clean"]))
    pgd = next(a for a in summary["attacks"] if a["name"] == "pgd")
    summary["attacks"] = [
        {**pgd, "name": name, "robust_accuracy": float(mask.mean())} for name, mask in masks.items()
    ]
    summary["robust_accuracy"] = worst
    summary["points_sha256"] = points_sha256
    path.write_text(json.dumps(summary))


@pytest.mark.parametrize("same_points", [True, False])
def test_a_beats_claim_compares_entries_point_by_point_when_their_masks_are_kept(
    tmp_path, same_points
):
    """A 2-point margin on 1,000 shared points, every disagreement one way: significant
    point by point, though not as two independent accuracies."""
    _two_entries(tmp_path)
    winner = np.zeros(1000, bool)
    winner[:500] = True
    loser = winner.copy()
    loser[480:500] = False
    _with_masks(tmp_path / "mnist" / "lenet-pgd_at" / "eval.json", winner)
    _with_masks(
        tmp_path / "mnist" / "lenet-standard" / "eval.json",
        loser,
        "ab" * 32 if same_points else "cd" * 32,
    )
    text = _beats_table(tmp_path, "mnist/lenet-pgd_at", "mnist/lenet-standard")
    assert (
        "mnist/lenet-pgd_at beats mnist/lenet-standard by pgd: 50.00 vs 48.00, a margin of +2.00"
        in text
    )
    if same_points:
        assert "on the same 1000 points, 20 are robust only under the first and 0 only" in text
        assert "p < 0.001, significant" in text
        assert "The claim holds: every margin for it and significant" in text
    else:  # measured on other points: no pairing
        assert (
            "as independent samples of 1000 points: a z-test gives p = 0.371, not significant"
            in text
        )
        assert (
            "The claim is not settled: 0 significantly for it, none significantly against" in text
        )


def test_a_column_can_name_an_attack_at_another_budget_of_the_curve(tmp_path):
    """`pgd5@2/255`-style columns (the SAT table's) read the curve's per-attack accuracy."""
    summary = _zoo(tmp_path, {"norm": "linf", "eps": 0.3})
    path = tmp_path / "mnist" / "lenet-standard" / "eval.json"
    summary["curve"].append({"eps": 0.1, "robust_accuracy": 0.25, "attacks": {"pgd": 0.375}})
    path.write_text(json.dumps(summary))
    table = yaml.safe_load((tmp_path / "tables.yaml").read_text())
    table[0]["columns"] = ["pgd@1/10", "pgd@2/10"]
    (tmp_path / "tables.yaml").write_text(yaml.safe_dump(table))
    text = write_reproduction(tmp_path, tmp_path / "docs").read_text()
    assert "| 37.50 / - | - / - |" in text  # 0.2 is not on the curve: no number


def test_an_order_claim_tests_each_neighbour_in_the_papers_order(tmp_path):
    _two_entries(tmp_path)
    table = yaml.safe_load((tmp_path / "tables.yaml").read_text())
    table[0]["rows"] = ["mnist/lenet-pgd_at", "mnist/lenet-standard"]
    (tmp_path / "tables.yaml").write_text(yaml.safe_dump(table))
    text = write_reproduction(tmp_path, tmp_path / "docs").read_text()
    # The paper's PGD-20: Standard 0.54 < Madry 95.52, so Madry must beat Standard.
    assert "- mnist/lenet-pgd_at beats mnist/lenet-standard by pgd:" in text
    assert (
        "The paper's order holds: every margin for it and significant (all 1 comparison measured)"
        in text
    )


def test_a_claim_is_tested_again_on_the_worst_case_when_another_attack_found_less(tmp_path):
    """The claim's attack says pgd_at beats standard by 2 points; an adaptive attack
    finds pgd_at masked, 10 points lower: the worst case reverses the verdict."""
    _two_entries(tmp_path)
    loser = np.zeros(1000, bool)
    loser[:480] = True
    winner = loser.copy()
    winner[480:500] = True
    masked = winner.copy()
    masked[300:400] = False
    _with_masks(tmp_path / "mnist" / "lenet-pgd_at" / "eval.json", winner, adaptive_mask=masked)
    _with_masks(tmp_path / "mnist" / "lenet-standard" / "eval.json", loser)
    text = _beats_table(tmp_path, "mnist/lenet-pgd_at", "mnist/lenet-standard")
    assert "- The claim holds: every margin for it and significant" in text
    assert "which is below pgd for mnist/lenet-pgd_at:" in text
    assert (
        "  - mnist/lenet-pgd_at does NOT beat mnist/lenet-standard by the worst case: "
        "40.00 vs 48.00, a margin of -8.00 points (on the same 1000 points, 20 are robust "
        "only under the first and 100 only under the second" in text
    )
    assert "  - The claim, under the worst case, does NOT hold: 1 significantly against" in text


def test_no_worst_case_verdict_when_the_claims_attack_is_the_worst(tmp_path):
    _two_entries(tmp_path)
    winner = np.zeros(1000, bool)
    winner[:500] = True
    _with_masks(tmp_path / "mnist" / "lenet-pgd_at" / "eval.json", winner)
    _with_masks(tmp_path / "mnist" / "lenet-standard" / "eval.json", winner[::-1].copy())
    text = _beats_table(tmp_path, "mnist/lenet-pgd_at", "mnist/lenet-standard")
    assert "does NOT beat mnist/lenet-standard by pgd" in text
    assert "Under the worst case" not in text and "by the worst case" not in text


def test_the_plot_keeps_one_attack_set_along_epsilon_and_crosses_the_full_suite(tmp_path):
    """The AT row ran PGD-20 and PGD-5 at every eps, and AutoAttack too at 8/255 only."""
    from matplotlib.figure import Figure

    curve = find_entries(models_dir())["cifar10/resnet18_w0.25-pgd_at"].summary.curve
    ax = Figure().add_subplot()
    assert plot_curve(ax, curve, "at")
    line, cross = ax.lines
    at_eps = curve[-1]
    assert line.get_ydata()[-1] == 100 * at_eps.worst_of(["pgd", "pgd5"])
    assert list(cross.get_ydata()) == [100 * at_eps.robust_accuracy]
    assert cross.get_ydata()[0] < line.get_ydata()[-1]
    below_eps = Figure().add_subplot()
    assert not plot_curve(below_eps, curve[:-1], "at")
    assert len(below_eps.lines) == 1

    table = {
        "id": "t",
        "title": "T",
        "threat_model": {"norm": "linf", "eps": at_eps.eps},
        "claim": {"text": "c", "metric": "pgd"},
        "columns": ["pgd"],
        "rows": ["cifar10/resnet18_w0.25-pgd_at"],
    }
    (tmp_path / "tables.yaml").write_text(yaml.safe_dump([table]))
    shutil.copytree(
        models_dir() / "cifar10" / "resnet18_w0.25-pgd_at",
        tmp_path / "cifar10" / "resnet18_w0.25-pgd_at",
    )
    text = write_reproduction(tmp_path, tmp_path / "docs").read_text()
    assert (
        "lines join each row's worst case over the attacks run at every epsilon (pgd, pgd5," in text
    )


def test_a_table_with_no_cross_has_no_caption_for_it(tmp_path):
    _zoo(tmp_path, {"norm": "linf", "eps": 0.3})
    assert "a cross is" not in write_reproduction(tmp_path, tmp_path / "docs").read_text()


def test_the_committed_page_is_what_zoo_reproduction_writes(tmp_path):
    """docs/reproduction.md is regenerated with every published entry (the plots too,
    compared here through the page, as their bytes depend on matplotlib's version)."""
    root = pathlib.Path(__file__).resolve().parents[2]
    written = write_reproduction(root / "models", tmp_path).read_text()
    assert written == (root / "docs" / "reproduction.md").read_text(), (
        "run `tfrobust zoo reproduction`"
    )
