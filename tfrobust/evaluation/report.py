"""An `EvalSummary` on disk: `eval.json`, `eval.md` and `robust_accuracy.png`.

JSON is written atomically (a temporary file in the same folder, then
`os.replace`), so a crash never leaves a half-written `eval.json`; reading
validates the schema.
"""

import json
import os
import pathlib

from tfrobust.evaluation.summary import EvalSummary
from tfrobust.evaluation.summary import attacks_at_every_budget
from tfrobust.evaluation.summary import budgets_with_more_attacks
from tfrobust.zoo.files import atomic_path


def _atomic_write(path, write):
    """`write(f)` to a binary file at `path`, atomically, with the umask's mode."""
    path = pathlib.Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
    return path


def write_json(summary, path):
    """Write `summary` as JSON, atomically; return the path."""
    text = json.dumps(summary.to_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n"
    return _atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def read_json(path):
    """Load and validate an `eval.json` into an `EvalSummary`."""
    with open(path, encoding="utf-8") as f:
        return EvalSummary.from_dict(json.load(f))


def _pct(value):
    return f"{100 * value:.2f}%"


def markdown(summary):
    """A Markdown report: threat model, accuracy table, stages, adaptive attacks, checks."""
    tm = summary.threat_model
    lines = [
        f"# Robustness of `{summary.model}`"
        + (f" on {summary.dataset}" if summary.dataset else ""),
        "",
        f"Threat model: {tm.norm}, eps = {tm.eps:.6g} ({tm.eps * 255:.4g}/255); "
        f"{summary.n} test points; seed {summary.seed}; {summary.wall_time_s:.1f} s.",
        "",
        f"Points: the first {summary.n} in order {summary.data_order or 'unrecorded'}; "
        f"SHA-256 {summary.points_sha256 or 'unrecorded'}.",
        "",
        "| attack | robust accuracy | seconds |",
        "|---|---:|---:|",
        f"| clean | {_pct(summary.clean_accuracy)} | |",
    ]
    if summary.test_clean:
        lines.append(
            f"| clean, first {summary.test_clean['n']} test points | "
            f"{_pct(summary.test_clean['accuracy'])} | |"
        )
    for attack in summary.attacks:
        lines.append(f"| {attack.name} | {_pct(attack.robust_accuracy)} | {attack.seconds:.1f} |")
        for stage in attack.stages:
            lines.append(
                f"| &nbsp;&nbsp;after {stage['name']} | "
                f"{_pct(stage['robust_accuracy'])} | {stage['seconds']:.1f} |"
            )
        if attack.skipped:
            lines.append(f"| &nbsp;&nbsp;not run: {', '.join(attack.skipped)} | | |")
    lines.append(f"| **worst case** | **{_pct(summary.robust_accuracy)}** | |")
    if len(summary.curve) > 1:
        lines += ["", "| eps | robust accuracy | worst case of |", "|---:|---:|---|"]
        for p in summary.curve:
            names = "clean" if p.eps == 0 else ", ".join(sorted(p.attacks)) or "not recorded"
            lines.append(f"| {p.eps:.6g} | {_pct(p.robust_accuracy)} | {names} |")
    if any(attack.adaptive_for for attack in summary.attacks):
        from tfrobust.evaluation.adaptive import describe

        lines += ["", "## Adaptive attacks", ""] + [f"- {line}" for line in describe(summary)]
    if summary.sanity:
        lines += ["", "## Sanity checks", "", "| check | result | detail |", "|---|---|---|"]
        for check in summary.sanity:
            verdict = "pass" if check.passed else "**FAIL**"
            lines.append(f"| {check.name} | {verdict} | {check.message.replace('|', '/')} |")
    versions = ", ".join(f"{k} {v}" for k, v in sorted(summary.versions.items()))
    lines += ["", f"Versions: {versions}", ""]
    return "\n".join(lines)


def write_markdown(summary, path):
    text = markdown(summary)
    return _atomic_write(path, lambda f: f.write(text.encode("utf-8")))


ALL_ATTACKS_MARKER = {"marker": "x", "markersize": 9, "markeredgewidth": 2, "linestyle": "none"}


def plot_curve(ax, curve, label):
    """Draw `curve` on `ax`; return whether it drew a cross.

    The line joins the worst case of the attacks run at every budget
    (`attacks_at_every_budget`), so it compares like with like; a cross marks
    the worst case over every attack where more ran (the threat model's eps).
    """
    names = attacks_at_every_budget(curve)
    (line,) = ax.plot(
        [p.eps for p in curve], [100 * p.worst_of(names) for p in curve], marker="o", label=label
    )
    more = budgets_with_more_attacks(curve)
    if more:
        ax.plot(
            [p.eps for p in more],
            [100 * p.robust_accuracy for p in more],
            color=line.get_color(),
            **ALL_ATTACKS_MARKER,
        )
    return bool(more)


def all_attacks_handle():
    """The legend entry that explains `plot_curve`'s crosses."""
    from matplotlib.lines import Line2D

    return Line2D([], [], color="black", label="worst case over every attack", **ALL_ATTACKS_MARKER)


def plot_accuracy_vs_eps(summary, path):
    """PNG of robust accuracy against epsilon (Agg backend), drawn by `plot_curve`."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.5), dpi=100)
    ax = fig.add_subplot()
    names = attacks_at_every_budget(summary.curve)
    crossed = plot_curve(ax, summary.curve, label=f"worst case of {', '.join(names)}")
    ax.axvline(summary.threat_model.eps, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel(f"epsilon ({summary.threat_model.norm})")
    ax.set_ylabel("robust accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(summary.model, fontsize=9)
    ax.grid(alpha=0.3)
    handles = ax.get_legend_handles_labels()[0] + ([all_attacks_handle()] if crossed else [])
    ax.legend(handles=handles, fontsize=8)
    fig.tight_layout()
    return _atomic_write(path, lambda f: fig.savefig(f, format="png"))


def write_report(summary, out_dir):
    """Write `eval.json`, `eval.md` and `robust_accuracy.png` into `out_dir`."""
    out_dir = pathlib.Path(out_dir)
    return {
        "json": write_json(summary, out_dir / "eval.json"),
        "markdown": write_markdown(summary, out_dir / "eval.md"),
        "plot": plot_accuracy_vs_eps(summary, out_dir / "robust_accuracy.png"),
    }
