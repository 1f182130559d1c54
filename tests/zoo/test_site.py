"""`tfrobust zoo site`: the leaderboard website, checked in headless Chromium.

Skipped, with the reason, where no Chromium is installed (`apt-get install chromium`).
"""

import html.parser
import json
import re
import shutil
import subprocess

import pytest

from tfrobust.cli import main as cli
from tfrobust.zoo.entry import find_entries
from tfrobust.zoo.entry import models_dir
from tfrobust.zoo.eps_text import eps_text

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

# Appended to a copy of index.html: sorts by AutoAttack, then follows every link and image of
# every page on the site and writes what it found into <pre id="result">.
CHECK = """
<script>
(async () => {
  const table = [...document.querySelectorAll("table.leaderboard")]
    .sort((a, b) => b.tBodies[0].rows.length - a.tBodies[0].rows.length)[0];
  const heads = [...table.tHead.rows[0].cells];
  const column = heads.findIndex((th) => th.textContent === "autoattack");
  const order = () => [...table.tBodies[0].rows].map((r) => r.cells[column].dataset.value);
  heads[column].click();
  const descending = order();
  heads[column].click();
  const ascending = order();
  const seen = new Map(), pages = ["index.html"], images = [];
  while (pages.length) {
    const page = new URL(pages.pop(), location.href).href;
    if (seen.has(page)) continue;
    const response = await fetch(page);
    seen.set(page, response.status);
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const a of doc.querySelectorAll("a[href]")) {
      const url = new URL(a.getAttribute("href"), page).href;
      if (url.endsWith(".html")) pages.push(url);
      else if (!seen.has(url)) seen.set(url, (await fetch(url)).status);
    }
    for (const el of doc.querySelectorAll("img[src], link[href], script[src]")) {
      const url = new URL(el.getAttribute("src") || el.getAttribute("href"), page).href;
      seen.set(url, (await fetch(url)).status);
      if (el.tagName === "IMG") images.push(url);
    }
  }
  const decoded = await Promise.all(images.map((src) => new Promise((done) => {
    const img = new Image();
    img.onload = () => done(img.naturalWidth > 0);
    img.onerror = () => done(false);
    img.src = src;
  })));
  const result = {rows: descending.length, descending, ascending,
                  status: Object.fromEntries(seen), images: images.length,
                  undecoded: images.filter((_, i) => !decoded[i])};
  const pre = document.createElement("pre"); pre.id = "result";
  pre.textContent = JSON.stringify(result); document.body.appendChild(pre);
})();
</script>
"""


@pytest.fixture(scope="module")
def chromium():
    found = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    if found is None:
        pytest.skip(
            "no headless Chromium (apt-get install chromium): the leaderboard site "
            "is not checked in a browser"
        )
    return found


def browse(chromium, tmp_path, *args):
    return subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    assert cli.main(["zoo", "site", str(out)]) == 0
    return out


def test_site_has_a_table_per_dataset_and_threat_model_and_a_page_per_model(site):
    index = (site / "index.html").read_text()
    for entry in find_entries(models_dir()).values():
        heading = f"<h2>{entry.report_as}, {entry.threat_model} {eps_text(entry.eps)}</h2>"
        assert heading in index, heading
    for name in ["mnist/lenet-pgd_at", "cifar10/resnet20-fast_at"]:
        assert f"href='{name.replace('/', '--')}.html'" in index
        page = (site / f"{name.replace('/', '--')}.html").read_text()
        assert "<table>" in page and "robust accuracy against epsilon" in page
    reproduction = (site / "reproduction.html").read_text()
    assert "mnist/lenet-standard" in reproduction
    assert reproduction.index("<h2>Summary</h2>") < reproduction.index("<h2>AALP, Table 2")
    assert "http" not in (site / "index.html").read_text()  # nothing fetched when viewed


class _Tables(html.parser.HTMLParser):
    """Each table of a page as rows of (text, data-value) cells, the header row first."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("th", "td"):
            self._cell = ["", dict(attrs).get("data-value")]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0] += data

    def handle_endtag(self, tag):
        if tag in ("th", "td"):
            self.tables[-1][-1].append(tuple(self._cell))
            self._cell = None


def test_leaderboard_rows_hold_each_entrys_eval_json_best_first(site):
    parser = _Tables()
    parser.feed((site / "index.html").read_text())
    entries, listed = find_entries(models_dir()), []
    for head, *rows in parser.tables:
        columns = [text for text, _ in head]
        assert columns[:3] == ["#", "model", "clean"]
        assert columns[-4:] == ["worst case", "paper (AutoAttack)", "n", "sanity checks"]
        worst = [float(dict(zip(columns, row))["worst case"][1]) for row in rows]
        assert worst == sorted(worst, reverse=True)
        for row in rows:
            cell = dict(zip(columns, row))
            listed.append(cell["model"][0])
            summary = json.loads((entries[cell["model"][0]].path / "eval.json").read_text())
            expected = {
                "clean": summary["clean_accuracy"],
                "worst case": summary["robust_accuracy"],
                **{a["name"]: a["robust_accuracy"] for a in summary["attacks"]},
            }
            for column, value in expected.items():
                assert float(cell[column][1]) == pytest.approx(100 * value), (column, row)
            assert cell["n"][0] == str(summary["n"])
            failed = [c["name"] for c in summary["sanity"] if not c["passed"]]
            assert cell["sanity checks"][0] == (
                "failed: " + ", ".join(failed)
                if failed
                else "{0}/{0} passed".format(len(summary["sanity"]))
            )
    assert sorted(listed) == sorted(entries)


def test_a_model_page_shows_its_card_and_its_plot(site):
    page = (site / "mnist--lenet-pgd_at.html").read_text()
    for section in [
        "Model details",
        "Intended use",
        "Training data",
        "Evaluation",
        "Limitations",
        "How to reproduce",
    ]:
        assert f"<h2>{section}</h2>" in page, section
    assert "library_name" not in page  # the hub's metadata header is not shown
    assert "<img class='plot' src='mnist--lenet-pgd_at.png'" in page
    assert (site / "mnist--lenet-pgd_at.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_site_sorts_by_autoattack_and_every_link_and_image_resolves(
    chromium, site, tmp_path, local_server
):
    check = site / "check.html"
    check.write_text((site / "index.html").read_text().replace("</body>", CHECK + "</body>"))
    with local_server(site) as url:
        result = browse(
            chromium, tmp_path, "--virtual-time-budget=20000", "--dump-dom", f"{url}/check.html"
        )
    check.unlink()
    found = re.search(r'<pre id="result">(.*?)</pre>', result.stdout, re.DOTALL)
    assert found, result.stderr[-2000:]
    report = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert report["rows"] >= 2
    values = [float(v) for v in report["descending"]]
    assert values == sorted(values, reverse=True)
    assert report["ascending"] == report["descending"][::-1]
    assert report["images"] >= len(list(models_dir().glob("*/*/robust_accuracy.png")))
    assert report["undecoded"] == []
    assert {u: s for u, s in report["status"].items() if s != 200} == {}


def test_screenshot(chromium, site, tmp_path, local_server):
    shot = tmp_path / "leaderboard.png"
    with local_server(site) as url:
        browse(
            chromium,
            tmp_path,
            f"--screenshot={shot}",
            "--window-size=1200,800",
            f"{url}/index.html",
        )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
