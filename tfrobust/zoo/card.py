"""`MODEL_CARD.md`: what a model is, how it was trained, what it scores, and caveats."""

import yaml

NORMS = {"linf": "L-inf", "l2": "L2"}


def _pct(value):
    return f"{100 * value:.2f}%"


def training_line(training_time):
    """One sentence on how long training took, from `training_time.json`'s contents."""
    epochs = (training_time or {}).get("epochs", {})
    if not epochs:
        return "Training time: not recorded."
    seconds = sum(e["seconds"] for e in epochs.values())
    machines = sorted({e["machine"] for e in epochs.values()})
    return (f"Training time: {seconds / 60:.1f} min of wall time for {len(epochs)} epochs "
            f"on {'; '.join(machines)}.")


def model_card(recipe_dict, summary, command, training_time=None):
    """The card's Markdown from the resolved recipe, the `EvalSummary` and the epoch times."""
    threat = summary.threat_model
    eps = threat.eps * 255
    lines = [
        f"# {recipe_dict['name']}", "",
        f"Paper: {recipe_dict['paper']}", "",
        "## Threat model", "",
        f"{NORMS[threat.norm]}, eps = {threat.eps:.6g} ({eps:.3g}/255 in pixel scale), "
        f"images in [0, 1], white-box.", "",
        "## Results", "",
        f"Measured by `tfrobust.evaluation` on the first {summary.n} test images of "
        f"**{summary.dataset}** in the order {summary.data_order or 'unrecorded'} "
        f"(points SHA-256 `{summary.points_sha256[:16] or 'unrecorded'}`, seed "
        f"{summary.seed}); a point is robust only if it survives every attack."
        + (f" Clean accuracy on the first {summary.test_clean['n']} test images: "
           f"{_pct(summary.test_clean['accuracy'])}." if summary.test_clean else ""), "",
        "| metric | this model | paper (reported) |", "|---|---:|---:|",
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
    lines += ["", "Sanity checks: " + (
        f"{len(summary.sanity)} run, all passed." if summary.sanity and not failed
        else "FAILED: " + "; ".join(f"{c.name}: {c.message}" for c in failed) if failed
        else "not run."), ""]
    lines += [training_line(training_time) + f" Evaluation: {summary.wall_time_s / 60:.1f} min.",
              "", "## Caveats", ""]
    if summary.dataset != recipe_dict["dataset"]["name"]:
        lines.append(f"- Evaluated on **{summary.dataset}**, not the original "
                     f"{recipe_dict['dataset']['name']}: the paper's numbers are not directly "
                     "comparable.")
    if recipe_dict.get("notes"):
        lines.append(f"- {recipe_dict['notes'].strip()}")
    lines.append(f"- Evaluated on {summary.n} test images: the standard error of an accuracy "
                 f"near {_pct(summary.robust_accuracy)} is about "
                 f"{_pct((summary.robust_accuracy * (1 - summary.robust_accuracy) / max(summary.n, 1)) ** 0.5)}.")
    lines += ["", "## Reproduce", "", "```bash", command, "```", "",
              "## Training recipe (resolved)", "", "```yaml",
              yaml.safe_dump({k: v for k, v in recipe_dict.items() if k != "scales"},
                             sort_keys=False).strip(), "```", ""]
    return "\n".join(lines)
