"""`tfrobust zoo site OUT/`: a static leaderboard website, as RobustBench publishes one.

    OUT/index.html          one sortable table per dataset and threat model
    OUT/<dataset>--<model>.html   the model card and its robust accuracy against epsilon
    OUT/reproduction.html   the papers' tables, ours beside theirs (`zoo.reproduction`)

Plain HTML and CSS with a few lines of JavaScript for sorting, all written
into OUT: the pages need no network when viewed. Numbers come from each
entry's `eval.json`, the paper's from its recipe (`reported`).
"""

import html
import json
import pathlib
import re
import shutil

import markdown

from tfrobust.zoo.entry import CARD
from tfrobust.zoo.entry import EVAL
from tfrobust.zoo.entry import find_entries
from tfrobust.zoo.eps_text import threat_text
from tfrobust.zoo.files import atomic_path
from tfrobust.zoo.files import write_text
from tfrobust.zoo.reproduction import TABLES
from tfrobust.zoo.reproduction import summary_markdown
from tfrobust.zoo.reproduction import table_markdown

ASSETS = pathlib.Path(__file__).resolve().parent / "site_assets"
PLOT = "robust_accuracy.png"
MISSING = -1  # sort key of an empty cell: last when sorting best first


def page_name(model_id):
    return model_id.replace("/", "--") + ".html"


def _page(title, body):
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><link rel='stylesheet' href='style.css'></head>"
        "<body><nav><a href='index.html'>Leaderboard</a>"
        "<a href='reproduction.html'>Reproductions</a></nav>\n"
        f"{body}\n<script src='sort.js'></script></body></html>\n"
    )


def _pct_cell(value, css=""):
    if value is None:
        return f"<td class='{css}' data-value='{MISSING}'>-</td>"
    return f"<td class='{css}' data-value='{100 * value:.4f}'>{100 * value:.2f}</td>"


def _sanity_cell(checks):
    if not checks:
        return "<td>not run</td>"
    failed = [c["name"] for c in checks if not c["passed"]]
    if failed:
        return f"<td class='failed'>failed: {html.escape(', '.join(failed))}</td>"
    return f"<td>{len(checks)}/{len(checks)} passed</td>"


def leaderboard_table(entries):
    """One table of entries sharing a dataset and threat model, best worst-case first."""
    evals = {e.name: json.loads((e.path / EVAL).read_text()) for e in entries}
    attacks = sorted(
        {a["name"] for d in evals.values() for a in d["attacks"]},
        key=lambda name: (name != "autoattack", name),
    )
    header = [
        "#",
        "model",
        "clean",
        *attacks,
        "worst case",
        "paper (AutoAttack)",
        "n",
        "sanity checks",
    ]
    heads = "".join(
        f"<th class='sortable{' name' if h == 'model' else ''}'>{html.escape(h)}</th>"
        for h in header
    )
    rows = []
    ranked = sorted(entries, key=lambda e: -e.robust_accuracy)
    for rank, e in enumerate(ranked, 1):
        by_name = {a["name"]: a["robust_accuracy"] for a in evals[e.name]["attacks"]}
        paper = (e.reported.get("autoattack") or {}).get("accuracy")
        rows.append(
            "<tr>"
            + f"<td data-value='{rank}'>{rank}</td>"
            + f"<td class='name'><a href='{page_name(e.name)}'>{html.escape(e.name)}</a></td>"
            + _pct_cell(e.clean_accuracy)
            + "".join(_pct_cell(by_name.get(a)) for a in attacks)
            + _pct_cell(e.robust_accuracy)
            + _pct_cell(paper, "paper")
            + f"<td>{e.n}</td>"
            + _sanity_cell(evals[e.name]["sanity"])
            + "</tr>"
        )
    return (
        f"<table class='leaderboard'><thead><tr>{heads}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def index_page(entries):
    groups = {}
    for e in entries.values():
        groups.setdefault((e.report_as, threat_text(e.threat_model, e.eps)), []).append(e)
    body = [
        "<h1>tfrobust model zoo</h1>",
        "<p>Robust accuracy (%) on the first <i>n</i> test images; a point counts as robust "
        "only if it survives every attack (worst case). Click a column to sort. The paper's "
        "number is what its authors report, where the setting matches.</p>",
    ]
    for (dataset, threat), group in sorted(groups.items()):
        body += [
            f"<h2>{html.escape(dataset)}, {html.escape(threat)}</h2>",
            leaderboard_table(group),
        ]
    return _page("tfrobust model zoo", "\n".join(body))


def _markdown_html(text):
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.DOTALL)  # the hub's metadata
    return markdown.markdown(text, extensions=["tables", "fenced_code"])


def model_page(entry, out):
    plot = ""
    if (entry.path / PLOT).is_file():
        image = page_name(entry.name).replace(".html", ".png")
        with atomic_path(out / image) as tmp:
            shutil.copyfile(entry.path / PLOT, tmp)
        plot = (
            f"<h2>Robust accuracy against epsilon</h2>"
            f"<img class='plot' src='{image}' alt='robust accuracy against epsilon'>"
        )
    card = _markdown_html((entry.path / CARD).read_text())
    return _page(entry.name, plot + "\n" + card)


def reproduction_page(root, entries):
    import yaml

    tables = yaml.safe_load((root / TABLES).read_text()) if (root / TABLES).is_file() else []
    parts = [summary_markdown(tables, entries)]
    for table in tables:
        text = table_markdown(table, entries)
        text = re.sub(
            r"\(\.\./models/([^)]+)/MODEL_CARD\.md\)", lambda m: f"({page_name(m.group(1))})", text
        )
        text = re.sub(r"!\[[^]]*\]\([^)]*\.png\)", "", text)  # plots: on each model's page
        parts.append(text)
    return _page(
        "Reproductions",
        "<h1>Reproductions of the papers' tables</h1>\n"
        + _markdown_html("\n".join(parts) or "No tables."),
    )


def write_site(root, out):
    """Write the site for the zoo at `root` into `out`; return the index page's path."""
    root, out = pathlib.Path(root), pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    entries = find_entries(root)
    for asset in ("style.css", "sort.js"):
        write_text(out / asset, (ASSETS / asset).read_text())
    for entry in entries.values():
        write_text(out / page_name(entry.name), model_page(entry, out))
    write_text(out / "reproduction.html", reproduction_page(root, entries))
    write_text(out / "index.html", index_page(entries))
    return out / "index.html"
