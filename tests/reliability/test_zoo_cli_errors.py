"""Zoo failures seen from the command line: one line, exit code 2, nothing half-written.

An unreachable weights URL, a server that answers with an error, and export
into a folder that exists (issue #18).
"""

import http.server
import shutil
import socket

import pytest

from tfrobust.cli import main as cli
from tfrobust.zoo.entry import models_dir

ZOO_ID = "mnist/lenet-pgd_at"


@pytest.fixture
def remote_zoo(tmp_path, monkeypatch):
    """The entry's index without its weights, and a private cache."""
    root = tmp_path / "models"
    shutil.copytree(models_dir() / ZOO_ID, root / ZOO_ID, ignore=shutil.ignore_patterns("*.keras"))
    monkeypatch.setenv("TFROBUST_CACHE_DIR", str(tmp_path / "cache"))
    return root


def one_line_error(capsys, code):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def nothing_cached(tmp_path):
    return [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerError(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        self.send_error(500, "storage backend unavailable")

    def log_message(self, *args):
        pass


def test_unreachable_weights_url(remote_zoo, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TFROBUST_WEIGHTS_URL", f"http://127.0.0.1:{closed_port()}")
    code = cli.main(["export", ZOO_ID, str(tmp_path / "out"), "--models-dir", str(remote_zoo)])
    line = one_line_error(capsys, code)
    assert line.startswith("tfrobust export: error: Could not download http://127.0.0.1:")
    assert "refused" in line
    assert nothing_cached(tmp_path) and not (tmp_path / "out").exists()


def test_remote_download_failure(remote_zoo, tmp_path, monkeypatch, capsys, local_server):
    with local_server(handler=ServerError) as url:
        monkeypatch.setenv("TFROBUST_WEIGHTS_URL", url)
        code = cli.main(["export", ZOO_ID, str(tmp_path / "out"), "--models-dir", str(remote_zoo)])
    line = one_line_error(capsys, code)
    assert f"{url}/{ZOO_ID}/model.keras: HTTP 500 storage backend unavailable" in line
    assert nothing_cached(tmp_path) and not (tmp_path / "out").exists()


def test_export_to_an_existing_folder(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code = cli.main(["export", ZOO_ID, str(out)])
    line = one_line_error(capsys, code)
    assert line == f"tfrobust export: error: {out} exists; choose a new folder for the SavedModel"
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
