"""An installed package (a wheel, not this checkout) has its pages, scripts, networks, API description and
translations, and serves readings without TensorFlow."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHECK = """
import webapp
assert webapp.__file__.startswith({unpacked!r}), webapp.__file__
app = webapp.create_app({{"TESTING": True}})
client = app.test_client()
for url in ("/", "/layers", "/api/openapi.json", *{static!r}):
    assert client.get(url).status_code == 200, url
japanese = client.get("/layers?lang=ja").get_data(as_text=True)
assert '<html lang="ja"' in japanese and "ネットワークの中" in japanese, japanese[:300]
assert client.get("/i18n/ja.json").get_json()["messages"]["Undo"] == "元に戻す"
import io, sys
from PIL import Image
from webapp.artifacts import ARTIFACTS, DEFAULT_MODEL, SERVED_FILES, discover
assert str(ARTIFACTS).startswith({unpacked!r}) and DEFAULT_MODEL in discover(ARTIFACTS)
for name in discover(ARTIFACTS):
    assert all((ARTIFACTS / name / file).is_file() for file in SERVED_FILES), name
buffer = io.BytesIO()
Image.new("L", (28, 28)).save(buffer, "PNG")
response = client.post("/api/predict", data=buffer.getvalue(), content_type="image/png")
assert response.status_code == 200, response.get_data()
assert client.get("/api/models").get_json()["default"] == DEFAULT_MODEL
assert not [name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras")]
print("ok")
"""


def test_wheel_serves_pages_without_the_checkout(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", str(ROOT), "-w", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("digit_lens-*.whl"))
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
        # The serving side only: train/ (Keras, TensorFlow, the training code) stays in the checkout.
        assert not [name for name in archive.namelist() if name.startswith("train/")]
    # Every file of static/, subfolders included (js/lib/explain/...): pyproject's package-data lists them.
    static = [f"/static/{path.relative_to(ROOT / 'static').as_posix()}" for path in sorted((ROOT / "static").rglob("*")) if path.is_file()]
    result = subprocess.run(
        [sys.executable, "-c", CHECK.format(unpacked=str(unpacked), static=static)],
        cwd=tmp_path,  # not the checkout: nothing may be found through it
        env={**os.environ, "PYTHONPATH": str(unpacked), "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
