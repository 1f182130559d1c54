"""`tfrobust zoo reproduction`: tables from the entries' eval.json, claims checked on them."""

import json
import shutil

import yaml

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


def test_an_entry_under_another_threat_model_is_not_compared(tmp_path):
    _zoo(tmp_path, {"norm": "linf", "eps": 0.1})
    text = write_reproduction(tmp_path, tmp_path / "docs").read_text()
    assert "| mnist/lenet-standard | not comparable: evaluated at Linf eps 0.3 |" in text


def test_a_beats_claim_states_each_margin_against_the_sampling_error(tmp_path):
    _zoo(tmp_path, {"norm": "linf", "eps": 0.3})
    shutil.copytree(models_dir() / "mnist" / "lenet-pgd_at", tmp_path / "mnist" / "lenet-pgd_at")
    table = {
        "id": "t",
        "title": "T",
        "threat_model": {"norm": "linf", "eps": 0.3},
        "claim": {
            "text": "c",
            "metric": "pgd",
            "beats": [["mnist/lenet-standard", "mnist/lenet-pgd_at"]],
        },
        "columns": ["pgd"],
        "rows": ["mnist/lenet-standard", "mnist/lenet-pgd_at"],
    }
    (tmp_path / "tables.yaml").write_text(yaml.safe_dump([table]))
    text = write_reproduction(tmp_path, tmp_path / "docs").read_text()
    assert "mnist/lenet-standard does NOT beat mnist/lenet-pgd_at by pgd:" in text
    assert "more than twice the standard error of a difference on 1000 points" in text
    assert "The claim does NOT hold on the 1 of 1 comparisons measured so far." in text
    assert "points of the paper" not in text and "within" not in text  # no tolerance given


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
