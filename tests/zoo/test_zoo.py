"""`tfrobust.zoo`: listing, strict checksummed loading, remote weights, leaderboard."""

import json
import shutil

import numpy as np
import pytest

from tfrobust import data
from tfrobust import zoo
from tfrobust.data.checksums import sha256
from tfrobust.zoo.entry import models_dir
from tfrobust.zoo.leaderboard import leaderboard

NAME = "mnist/lenet-pgd_at"


def test_entry_has_every_file_and_a_valid_eval(zoo_root):
    folder = zoo_root / NAME
    for name in ["model.keras", "weights.json", "recipe.yaml", "eval.json", "MODEL_CARD.md"]:
        assert (folder / name).is_file(), name
    entry = zoo.find_entries(zoo_root)[NAME]
    assert (entry.dataset, entry.threat_model, entry.n) == ("mnist", "Linf", 20)
    assert entry.eps == pytest.approx(0.3)
    card = (folder / "MODEL_CARD.md").read_text()
    assert "| clean |" in card and "AALP paper, Table 2" in card


def test_list_models_filters(zoo_root):
    assert zoo.list_models(root=zoo_root) == [NAME]
    assert zoo.list_models(dataset="mnist", threat_model="linf", root=zoo_root) == [NAME]
    assert zoo.list_models(dataset="cifar10", root=zoo_root) == []
    assert zoo.list_models(threat_model="L2", root=zoo_root) == []


def test_load_model_gives_the_saved_model(zoo_root):
    model = zoo.load_model(NAME, root=zoo_root)
    x, y = data.load_numpy("mnist", "test", data.SAMPLE_DIR, n=20)
    accuracy = np.mean(np.argmax(model.predict(x, verbose=0), axis=1) == y)
    entry = zoo.find_entries(zoo_root)[NAME]
    assert accuracy == pytest.approx(entry.clean_accuracy)


def test_unknown_name_lists_the_zoo(zoo_root):
    with pytest.raises(ValueError, match=f"Available: {NAME}"):
        zoo.load_model("mnist/lenet-nothing", root=zoo_root)


def test_modified_weights_are_refused(zoo_root, tmp_path):
    root = tmp_path / "models"
    shutil.copytree(zoo_root, root)
    weights = root / NAME / "model.keras"
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(zoo.WeightsChecksumError, match="modified or damaged"):
        zoo.load_model(NAME, root=root)


def _remote_entry(zoo_root, tmp_path, served_file, sha):
    root = tmp_path / "models"
    shutil.copytree(zoo_root, root)
    (root / NAME / "model.keras").unlink()
    info = {"file": "model.keras", "sha256": sha, "url": served_file}
    (root / NAME / "weights.json").write_text(json.dumps(info))
    return root


def test_remote_weights_download_once_into_the_cache(zoo_root, http_server, tmp_path, monkeypatch):
    served, url = http_server
    shutil.copy(zoo_root / NAME / "model.keras", served / "lenet.keras")
    monkeypatch.setenv("TFROBUST_CACHE_DIR", str(tmp_path / "cache"))
    root = _remote_entry(
        zoo_root, tmp_path, f"{url}/lenet.keras", sha256(zoo_root / NAME / "model.keras")
    )
    model = zoo.load_model(NAME, root=root)
    assert model.name
    cached = list((tmp_path / "cache" / "models").rglob("*.keras"))
    assert len(cached) == 1
    (served / "lenet.keras").unlink()  # a second load must not need the server
    zoo.load_model(NAME, root=root)


def test_remote_checksum_mismatch_leaves_nothing(zoo_root, http_server, tmp_path, monkeypatch):
    served, url = http_server
    (served / "lenet.keras").write_bytes(b"not the weights")
    monkeypatch.setenv("TFROBUST_CACHE_DIR", str(tmp_path / "cache"))
    root = _remote_entry(zoo_root, tmp_path, f"{url}/lenet.keras", "0" * 64)
    with pytest.raises(zoo.WeightsChecksumError, match="Nothing was kept"):
        zoo.load_model(NAME, root=root)
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert leftovers == []


def test_leaderboard_lists_every_entry(zoo_root, tmp_path):
    root = tmp_path / "models"
    shutil.copytree(zoo_root, root)
    text = zoo.write_leaderboard(root).read_text()
    assert f"[{NAME}]({NAME}/MODEL_CARD.md)" in text and "Linf 0.3" in text
    checks = zoo.find_entries(root)[NAME].summary.sanity
    assert text.rstrip().endswith(f"| {len(checks)}/{len(checks)} passed |")


def test_the_committed_leaderboard_is_what_zoo_leaderboard_writes():
    written = leaderboard(zoo.find_entries(models_dir()))
    assert written == (models_dir() / "README.md").read_text(), "run `tfrobust zoo leaderboard`"
