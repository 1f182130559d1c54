"""The zoo as a user meets it: a wheel installed into a fresh virtualenv outside the checkout.

The weights come from `models/` served on 127.0.0.1 (`TFROBUST_WEIGHTS_URL`);
a good download is verified and cached, and a corrupted file, a server that
stops halfway, a 404 and an entry without a URL each fail in one line (exit
code 2) and leave nothing in the cache. The virtualenv sees the checkout's
installed dependencies through a `.pth` line, so nothing is fetched.
"""

import hashlib
import http.server
import json
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
ZOO_ID = "mnist/lenet-pgd_at"
WEIGHTS = ROOT / "models" / ZOO_ID / "model.keras"


class HalfwayHandler(http.server.SimpleHTTPRequestHandler):
    """Sends half of each file's bytes and hangs up."""

    def copyfile(self, source, outputfile):
        data = source.read()
        outputfile.write(data[: len(data) // 2])
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A fresh virtualenv with the wheel built from a copy of the checkout."""
    tmp = tmp_path_factory.mktemp("installed")
    src = tmp / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.keras")
    for name in ["tfrobust", "models"]:
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ["setup.py", "README.md"]:
        shutil.copy(ROOT / name, src / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp / "dist"),
            str(src),
        ],
        check=True,
        capture_output=True,
        cwd=tmp,
    )
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp / "venv")], check=True)
    python = tmp / "venv" / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (pathlib.Path(site) / "checkout-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    (wheel,) = (tmp / "dist").glob("tfrobust-*.whl")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        env=_without_checkout(),  # else pip may take a checkout on PYTHONPATH for the install
    )
    return tmp


def _without_checkout():
    """The environment minus what points at the checkout (`TFROBUST_*`, `PYTHONPATH`)."""
    return {
        k: v for k, v in os.environ.items() if not k.startswith("TFROBUST_") and k != "PYTHONPATH"
    }


def run_in(venv, args, **env):
    """Run in the virtualenv, from a folder outside the checkout, with a fresh cache."""
    clean = _without_checkout()
    clean.update(TFROBUST_CACHE_DIR=str(venv / "cache"), **env)
    work = venv / "work"
    work.mkdir(exist_ok=True)
    return subprocess.run(
        [str(venv / "venv" / "bin" / args[0]), *args[1:]],
        cwd=work,
        env=clean,
        capture_output=True,
        text=True,
        timeout=600,
    )


def cached_files(venv):
    return [p for p in (venv / "cache").rglob("*") if p.is_file()]


def test_installed_zoo_lists_downloads_verifies_and_caches(venv, local_server):
    script = (
        "import json, tfrobust; from tfrobust import zoo; "
        f"model = zoo.load_model({ZOO_ID!r}); "
        "print(json.dumps([tfrobust.__file__, zoo.list_models(), model.output_shape]))"
    )
    with local_server(ROOT / "models") as url:
        result = run_in(venv, ["python", "-c", script], TFROBUST_WEIGHTS_URL=url)
    assert result.returncode == 0, result.stderr
    location, models, shape = json.loads(result.stdout.strip().splitlines()[-1])
    assert str(venv / "venv") in location  # the wheel, not the checkout
    assert ZOO_ID in models and "cifar10/resnet20-fast_at" in models
    assert shape == [None, 10]
    (cached,) = cached_files(venv)
    expected = json.loads((ROOT / "models" / ZOO_ID / "weights.json").read_text())["sha256"]
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == expected
    shutil.rmtree(venv / "cache")


def _mirror_with(tmp_path, content):
    (tmp_path / ZOO_ID).mkdir(parents=True)
    (tmp_path / ZOO_ID / "model.keras").write_bytes(content)
    return tmp_path


@pytest.mark.parametrize(
    "case, message",
    [
        ("corrupted", "downloaded, but its SHA-256 is"),
        ("halfway", "stopped after"),
        ("404", "HTTP 404"),
    ],
)
def test_failed_downloads_are_one_line_and_leave_nothing(
    venv, tmp_path, local_server, case, message
):
    weights = WEIGHTS.read_bytes()
    folder = {
        "corrupted": lambda: _mirror_with(tmp_path, weights[:-10] + b"0123456789"),
        "halfway": lambda: _mirror_with(tmp_path, weights),
        "404": lambda: tmp_path,
    }[case]()
    handler = {"handler": HalfwayHandler} if case == "halfway" else {}
    with local_server(folder, **handler) as url:
        result = run_in(venv, ["tfrobust", "export", ZOO_ID, "exported"], TFROBUST_WEIGHTS_URL=url)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("tfrobust export: error: ") and message in lines[0]
    assert cached_files(venv) == []


def test_entry_without_url_says_how_to_get_the_weights(venv):
    result = run_in(venv, ["tfrobust", "export", ZOO_ID, "exported"])
    assert result.returncode == 2, result.stderr
    assert "not published for download yet" in result.stderr
    assert "TFROBUST_MODELS_DIR" in result.stderr and "TFROBUST_WEIGHTS_URL" in result.stderr
    assert cached_files(venv) == []
