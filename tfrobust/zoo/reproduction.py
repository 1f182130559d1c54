"""`docs/reproduction.md`: the papers' tables, ours beside the paper's, from the zoo.

Nothing here is typed by hand: `models/tables.yaml` names each table's rows
(zoo IDs) and columns (attack names), the numbers come from each entry's
`eval.json` and the paper's from its `recipe.yaml` (`reported`), and the
claim is checked on them. Rows not trained yet say so.
"""

import pathlib
import textwrap

import numpy as np
import yaml

from tfrobust.evaluation.report import all_attacks_handle
from tfrobust.evaluation.report import plot_curve
from tfrobust.evaluation.summary import attacks_at_every_budget
from tfrobust.evaluation.summary import budgets_with_more_attacks
from tfrobust.zoo.entry import find_entries
from tfrobust.zoo.files import atomic_path
from tfrobust.zoo.files import write_text

TABLES = "tables.yaml"


def _pct(value):
    return "-" if value is None else f"{100 * value:.2f}"


def _p(value):
    """A p-value as printed: `p = 0.000` would read as certainty, so below 0.001 a bound."""
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def _locate(summary, column):
    """The curve point holding `column`, and its name there (`worst`: the point at eps)."""
    from tfrobust.recipes.validation import parse_fraction

    if column == "clean":
        eps, name = 0.0, "clean"
    elif "@" in column:
        name, _, budget = column.partition("@")
        eps = parse_fraction(budget, f"tables.yaml column {column!r}")
    else:
        eps, name = summary.threat_model.eps, column
    point = next((p for p in summary.curve if abs(p.eps - eps) < 1e-9), None)
    return point, name


def measured(entry, column):
    """Our accuracy for a column: `clean`, an attack's name, `worst`, or `NAME@EPS` (the
    attack at another budget of the entry's curve, e.g. `pgd5@2/255`); None if absent."""
    summary = entry.summary
    if column == "clean":
        return summary.clean_accuracy
    if column == "worst":
        return summary.robust_accuracy
    if "@" in column:
        point, name = _locate(summary, column)
        return None if point is None else point.attacks.get(name)
    return next((a.robust_accuracy for a in summary.attacks if a.name == column), None)


def measured_points(entry, column):
    """Our per-point robust mask for a column (as `measured`) and the SHA-256 of the
    points; the mask is None where the entry's eval.json did not keep it."""
    summary = entry.summary
    point, name = _locate(summary, column)
    if point is None or not point.robust:
        return None, summary.points_sha256
    if column == "worst":
        return np.logical_and.reduce([point.mask(k) for k in point.robust]), summary.points_sha256
    return point.mask(name), summary.points_sha256


def comparable(table, entries):
    """The entries of the table's rows measured under the table's threat model."""
    threat = table["threat_model"]
    return {
        name: entries[name]
        for name in table["rows"]
        if name in entries
        and entries[name].threat_model.lower() == threat["norm"]
        and abs(entries[name].eps - threat["eps"]) < 1e-9
    }


def claim_verdict(table, entries):
    """Sentences saying whether the claim holds on the rows measured so far, and the
    few of them that sum it up for the top of the page (`summary_markdown`)."""
    claim = table.get("claim")
    if not claim:
        return [], []
    metric, tolerance = claim["metric"], claim.get("tolerance")
    rows = [(name, entries[name]) for name in table["rows"] if name in entries]
    lines, summary = [f"Claim: {claim['text']}."], []
    if len(rows) < len(table["rows"]):
        missing = [name for name in table["rows"] if name not in entries]  # or not comparable
        lines.append(f"Not yet measured: {', '.join(missing)}; the verdict covers the rest.")
        summary.append(lines[-1])
    pairs, within = [], 0
    for name, entry in rows:
        ours, paper = measured(entry, metric), entry.reported.get(metric, {}).get("accuracy")
        if ours is None or paper is None:
            continue
        pairs.append((name, ours, paper))
        if tolerance is not None:
            within += abs(ours - paper) <= tolerance
            verdict = "within" if abs(ours - paper) <= tolerance else "NOT within"
            lines.append(
                f"- {name}: {metric} {_pct(ours)} vs the paper's {_pct(paper)}: "
                f"{verdict} {100 * tolerance:g} points."
            )
    if tolerance is not None and pairs:
        summary.append(
            f"{within} of {len(pairs)} rows within {100 * tolerance:g} points of the paper's "
            f"{metric}."
        )
    tested, subject = claim.get("beats", []), "claim"
    if len(pairs) > 1:
        ours_order = [n for n, _, _ in sorted(pairs, key=lambda p: p[1])]
        paper_order = [n for n, _, _ in sorted(pairs, key=lambda p: p[2])]
        lines.append(
            f"- Order by {metric}: "
            + (
                "the same as the paper's."
                if ours_order == paper_order
                else f"differs: ours {' < '.join(ours_order)}; the paper's "
                f"{' < '.join(paper_order)}."
            )
        )
        if not tested:  # an order claim: each neighbour in the paper's order
            tested, subject = list(zip(paper_order[1:], paper_order[:-1])), "paper's order"
    verdict = beats_verdict(tested, metric, entries, subject)
    lines += verdict
    summary += [line.removeprefix("- ") for line in verdict[-1:]]
    # A defense that masks gradients can look strong under the claim's attack alone.
    lower = [name for name, entry in rows if _below_worst_case(entry, metric)]
    worst = lower and beats_verdict(tested, "worst", entries, f"{subject}, under the worst case,")
    if worst:
        lines.append(
            f"- Under the worst case over every attack (the defenses' adaptive attacks "
            f"included), which is below {metric} for {', '.join(lower)}:"
        )
        lines += ["  " + line for line in worst]
        summary.append(worst[-1].removeprefix("- "))
    return lines, summary


def _below_worst_case(entry, metric):
    """Whether some attack found `entry` less robust than `metric` did at the table's
    budget (a column at another budget, `NAME@EPS`, has no worst case to compare)."""
    if metric == "worst" or "@" in metric:
        return False
    ours, worst = measured(entry, metric), measured(entry, "worst")
    return ours is not None and worst is not None and worst < ours


def compare(winner, loser, metric):
    """`paired.Comparison` of two entries on `metric`: point by point where both kept
    their masks on the same points, else their accuracies as independent samples."""
    from tfrobust.evaluation.paired import paired_comparison
    from tfrobust.evaluation.paired import unpaired_comparison

    ours, theirs = measured(winner, metric), measured(loser, metric)
    if ours is None or theirs is None:
        return None
    (mask_w, points_w), (mask_l, points_l) = (
        measured_points(winner, metric),
        measured_points(loser, metric),
    )
    if mask_w is not None and mask_l is not None and points_w and points_w == points_l:
        return paired_comparison(mask_w, mask_l)
    return unpaired_comparison(ours, theirs, winner.n)


def beats_verdict(beats, metric, entries, claim="claim"):
    """Whether each `[winner, loser]` pair holds on `metric`, against the sampling error;
    the last line is the verdict over all pairs."""
    from tfrobust.evaluation.paired import LEVEL

    lines, results = [], []
    for winner, loser in beats:
        if winner not in entries or loser not in entries:
            continue
        c = compare(entries[winner], entries[loser], metric)
        if c is None:
            continue
        results.append(c)
        test = (
            f"on the same {c.n} points, {c.only_a} are robust only under the first and "
            f"{c.only_b} only under the second: McNemar's exact test"
            if c.paired
            else f"points not kept, so as independent samples of {c.n} points: a z-test"
        )
        lines.append(
            f"- {winner} {'beats' if c.margin > 0 else 'does NOT beat'} {loser} by "
            f"{'the worst case' if metric == 'worst' else metric}: "
            f"{_pct(c.accuracy_a)} vs {_pct(c.accuracy_b)}, a margin of "
            f"{100 * c.margin:+.2f} points ({test} gives {_p(c.p_value)}, "
            + ("" if c.significant else "not ")
            + f"significant at the {LEVEL:g} level)."
        )
    if results:
        against = [c for c in results if c.margin <= 0 and c.significant]
        shown = [c for c in results if c.margin > 0 and c.significant]
        if against:
            verdict = f"does NOT hold: {len(against)} significantly against it"
        elif len(shown) == len(results):
            verdict = "holds: every margin for it and significant"
        else:
            verdict = (
                f"is not settled: {len(shown)} significantly for it, none significantly "
                "against it; the rest are within the sampling error"
            )
        plural = "s" if len(beats) != 1 else ""
        coverage = (
            f"all {len(beats)} comparison{plural} measured"
            if len(results) == len(beats)
            else f"on the {len(results)} of {len(beats)} comparison{plural} measured so far"
        )
        lines.append(f"- The {claim} {verdict} ({coverage}).")
    return lines


def summary_markdown(tables, entries):
    """One item per table with a claim: the claim and `claim_verdict`'s summing-up."""
    items = []
    for table in tables:
        verdict, summary = claim_verdict(table, comparable(table, entries))
        if verdict:
            items.append(f"- **{table['title']}.** {verdict[0]} " + " ".join(summary))
    if not items:
        return ""
    return "\n".join(
        [
            "## Summary",
            "",
            "Whether each claim holds at this scale; the evidence is under each table.",
            "",
        ]
        + items
        + [""]
    )


def table_markdown(table, all_entries):
    entries = comparable(table, all_entries)
    columns = table["columns"]
    lines = [
        f"## {table['title']}",
        "",
        "Each cell: ours / the paper's (accuracy, %). Ours from the entry's `eval.json`.",
        "",
        "| model | " + " | ".join(columns) + " | worst case | n |",
        "|---|" + "---:|" * (len(columns) + 2),
    ]
    for name in table["rows"]:
        entry = entries.get(name)
        if entry is None:
            other = all_entries.get(name)
            why = (
                "not trained yet"
                if other is None
                else f"not comparable: evaluated at {other.threat_model} eps {other.eps:g}"
            )
            lines.append(f"| {name} | {why} |" + " |" * (len(columns) + 1))
            continue
        cells = [
            f"{_pct(measured(entry, c))} / {_pct(entry.reported.get(c, {}).get('accuracy'))}"
            for c in columns
        ]
        lines.append(
            f"| [{name}](../models/{name}/MODEL_CARD.md) | "
            + " | ".join(cells)
            + f" | {_pct(measured(entry, 'worst'))} | {entry.n} |"
        )
    verdict, _ = claim_verdict(table, entries)
    return "\n".join(
        lines
        + ([""] + verdict if verdict else [])
        + _failed_sanity(table["rows"], entries)
        + _plot_caption(table, entries)
        + ["", f"![robust accuracy against epsilon]({table['id']}.png)", ""]
    )


def _failed_sanity(rows, entries):
    """A line per row whose evaluation failed a sanity check: some of its cells overstate it."""
    lines = []
    for name in rows:
        failed = (
            [c.name for c in entries[name].summary.sanity if not c.passed]
            if name in entries
            else []
        )
        if failed:
            lines.append(
                f"- {name} fails the sanity check {', '.join(failed)}: some of its cells "
                "overstate its robustness (its card says which)."
            )
    return [""] + lines if lines else []


def plot_table(table, all_entries, path):
    """Robust accuracy against epsilon, one line per trained row (`plot_curve`)."""
    entries = comparable(table, all_entries)
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4.5), dpi=100)
    ax = fig.add_subplot()
    crossed = [plot_curve(ax, entries[n].summary.curve, n) for n in table["rows"] if n in entries]
    ax.set_xlabel("epsilon")
    ax.set_ylabel("robust accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(textwrap.fill(table["title"], 90), fontsize=8)
    ax.grid(alpha=0.3)
    if crossed:
        handles = ax.get_legend_handles_labels()[0] + (
            [all_attacks_handle()] if any(crossed) else []
        )
        ax.legend(handles=handles, fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def _plot_caption(table, entries):
    """What the plot's lines and crosses are: a cross's drop is the attacks', not the budget's."""
    curves = [entries[n].summary.curve for n in table["rows"] if n in entries]
    shared = [attacks_at_every_budget(curve) for curve in curves]
    if not any(budgets_with_more_attacks(curve) for curve in curves):
        return []
    return [
        "",
        "The plot's lines join each row's worst case over the attacks run at every epsilon "
        f"({', '.join(sorted(set().union(*shared)))}, where the row ran them); a cross is its "
        "worst case over every attack, run at the threat model's epsilon only.",
    ]


def write_reproduction(models_root, out_dir):
    """Write `reproduction.md` and one plot per table into `out_dir`; return the Markdown's path."""
    models_root, out_dir = pathlib.Path(models_root), pathlib.Path(out_dir)
    tables = yaml.safe_load((models_root / TABLES).read_text())
    entries = find_entries(models_root)
    parts = [
        "# Reproductions of the papers' tables",
        "",
        "Generated by `tfrobust zoo reproduction` from `models/tables.yaml` and the zoo "
        "entries; do not edit. Training budgets and every deviation from each paper's "
        "setting are in the model cards. A claim that one model beats another is "
        "tested on the points both were evaluated on, with McNemar's exact test on the "
        "points where they disagree (`tfrobust.evaluation.paired_comparison`, two-sided, "
        "5% level); a claim is 'not settled' when no margin is significant against it "
        "but not every margin for it is. Where another attack (AutoAttack, a defense's "
        "adaptive attack) found a row less robust than the claim's attack did, the claim "
        "is tested again on each row's worst case: gradient masking can make a defense "
        "look strong under one attack.",
        "",
    ]
    parts.append(summary_markdown(tables, entries))
    for table in tables:
        parts.append(table_markdown(table, entries))
        plot_table(table, entries, out_dir / f"{table['id']}.png")
    path = out_dir / "reproduction.md"
    write_text(path, "\n".join(parts))
    return path
