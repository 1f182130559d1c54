"""`MODEL_CARD.md`: what a model is, how it was trained, what it scores, and caveats."""

import yaml

NORMS = {"linf": "L-inf", "l2": "L2"}


def _pct(value):
    return f"{100 * value:.2f}%"


def model_card(recipe_dict, summary, command):
    """The card's Markdown from the resolved recipe and the `EvalSummary`."""
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
        f"**{summary.dataset}** (seed {summary.seed}); a point is robust only if it "
        "survives every attack.", "",
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
    lines += ["## Caveats", ""]
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
