"""The evaluation summary: schema, JSON round trip, atomic writes, Markdown, PNG."""

import dataclasses
import json

import keras
import numpy as np
import pytest

from tfrobust.attacks.protocol import predict_labels
from tfrobust.evaluation import EvalSummary
from tfrobust.evaluation import SchemaError
from tfrobust.evaluation import evaluate
from tfrobust.evaluation import read_json
from tfrobust.evaluation import write_json
from tfrobust.evaluation import write_report
from tfrobust.evaluation.report import markdown
from tfrobust.evaluation.summary import CurvePoint
from tfrobust.evaluation.summary import attacks_at_every_budget
from tfrobust.evaluation.summary import from_bits
from tfrobust.evaluation.summary import validate


@pytest.fixture(scope="module")
def summary():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(10)], name="tiny"
    )
    x = np.random.default_rng(0).uniform(0, 1, (24, 6, 6, 1)).astype("float32")
    y = predict_labels(model, x)
    y[:4] = (y[:4] + 1) % 10
    return evaluate(
        model,
        (x, y),
        attacks=["fgsm", "square"],
        eps=8 / 255,
        n=20,
        batch_size=32,
        seed=3,
        curve_eps=[4 / 255],
        attack_kwargs={"square": {"n_queries": 20}},
        dataset_name="noise",
    )


@pytest.mark.jax
def test_summary_fields(summary):
    assert isinstance(summary, EvalSummary)
    assert summary.n == 20 and summary.seed == 3 and summary.model == "tiny"
    assert summary.clean_accuracy == pytest.approx(16 / 20)
    assert isinstance(summary.threat_model.eps, float)
    assert summary.threat_model.eps == pytest.approx(8 / 255)
    assert [a.name for a in summary.attacks] == ["fgsm", "square"]
    worst = summary.robust_accuracy
    assert all(worst <= a.robust_accuracy <= summary.clean_accuracy for a in summary.attacks)
    assert [p.eps for p in summary.curve] == pytest.approx([0, 4 / 255, 8 / 255])
    assert summary.curve[0].robust_accuracy == summary.clean_accuracy
    assert summary.curve[-1].robust_accuracy == worst
    assert {"tfrobust", "keras", "numpy", "backend"} <= set(summary.versions)
    assert summary.versions.get("tensorflow") or summary.versions.get("jax")
    assert summary.wall_time_s > 0


@pytest.mark.jax
def test_each_curve_point_keeps_the_per_point_masks_behind_its_numbers(summary):
    """The masks that let two models be compared point by point (`evaluation.paired`)."""
    clean, *_, at_eps = summary.curve
    assert clean.mask("clean").sum() == 16 and len(clean.mask("clean")) == 20
    for point in summary.curve[1:]:
        assert set(point.robust) == set(point.attacks) == {"fgsm", "square"}
        for name, accuracy in point.attacks.items():
            assert point.mask(name).mean() == accuracy
            assert not (point.mask(name) & ~clean.mask("clean")).any()  # robust implies correct
    worst = np.logical_and.reduce([at_eps.mask(n) for n in at_eps.robust])
    assert worst.mean() == summary.robust_accuracy
    assert {a.name: a.robust_accuracy for a in summary.attacks} == at_eps.attacks


@pytest.mark.jax
def test_json_round_trip_and_report_files(summary, tmp_path):
    paths = write_report(summary, tmp_path / "out")
    assert read_json(paths["json"]) == summary
    data = json.loads(paths["json"].read_text())
    validate(data)
    assert isinstance(data["threat_model"]["eps"], float)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "eval.json",
        "eval.md",
        "robust_accuracy.png",
    ]  # no temporary files left behind
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = paths["markdown"].read_text()
    assert "| fgsm |" in text and "**worst case**" in text and "linf" in text


def test_atomic_write_keeps_the_old_file_on_failure(summary, tmp_path, monkeypatch):
    path = write_json(summary, tmp_path / "eval.json")
    before = path.read_text()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_json(summary, path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["eval.json"]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["threat_model"].update(eps="8/255"), "eps"),
        (lambda d: d["threat_model"].update(eps=None), "eps"),
        (lambda d: d.pop("seed"), "missing"),
        (lambda d: d.update(extra=1), "unknown"),
        (lambda d: d.update(robust_accuracy=1.5), "robust_accuracy"),
        (lambda d: d["attacks"][0].update(robust_accuracy="0.5"), "attacks"),
        (lambda d: d["versions"].pop("keras"), "keras"),
        (lambda d: d.update(schema_version=99), "schema_version"),
        (lambda d: d["curve"][0]["robust"].update(clean="1" * 19), "20 characters"),
        (lambda d: d["curve"][0]["robust"].update(clean="1" * 20), "not the accuracy"),
        (lambda d: d["curve"][-1]["robust"].update(pgd="0" * 20), "no accuracy of that name"),
    ],
)
def test_schema_rejects_bad_summaries(summary, edit, message):
    data = json.loads(json.dumps(summary.to_dict()))
    edit(data)
    with pytest.raises(SchemaError, match=message):
        EvalSummary.from_dict(data)


def _point(eps, **masks):
    return CurvePoint(
        eps=eps,
        robust_accuracy=float(np.logical_and.reduce([from_bits(b) for b in masks.values()]).mean()),
        attacks={name: from_bits(bits).mean() for name, bits in masks.items()},
        robust=masks,
    )


def test_the_like_for_like_line_keeps_the_attacks_run_at_every_budget():
    """The full suite runs only at the threat model's eps; the line must not drop for it there."""
    curve = [
        _point(0.0, clean="1111"),
        _point(2 / 255, pgd="1110", pgd5="1101"),
        _point(8 / 255, pgd="1100", pgd5="1100", autoattack="1000"),
    ]
    names = attacks_at_every_budget(curve)
    assert names == ["pgd", "pgd5"]
    assert [p.worst_of(names) for p in curve] == [1.0, 0.5, 0.5]
    assert curve[2].robust_accuracy == 0.25  # the cross, below the line
    without_masks = dataclasses.replace(curve[1], robust={})
    assert without_masks.worst_of(names) == 0.75  # the lowest single attack: all it can say


@pytest.mark.jax
def test_the_markdown_curve_names_the_attacks_behind_each_budget(summary):
    """So a reader sees that the drop at the threat model's eps may be the stronger suite's."""
    text = markdown(summary)
    assert "| 0 | 80.00% | clean |" in text
    for point in summary.curve[1:]:
        row = f"| {point.eps:.6g} | {100 * point.robust_accuracy:.2f}% | fgsm, square |"
        assert row in text
