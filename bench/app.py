"""The app `make bench` serves: the real one, plus the endpoints /api/predict is compared against.

Run by gunicorn as ``bench.app:create_bench_app()``; never part of the product.

- /bench/trivial reads the body and answers a tiny JSON: the server's ceiling.
- /bench/naive is the approach of the classic tutorials: a plain greyscale
  resize of the whole canvas to 28x28 and ``model.predict``.
"""

from __future__ import annotations

import io

import numpy as np
from flask import Blueprint, Flask, Response, jsonify, request
from PIL import Image

from webapp import create_app
from webapp.model import get_model

bp = Blueprint("bench", __name__, url_prefix="/bench")


@bp.post("/trivial")
def trivial() -> Response:
    """Read the body and answer at once."""
    return jsonify(size=len(request.get_data()))


@bp.post("/naive")
def naive() -> Response:
    """Resize the canvas to 28x28 and call model.predict, as tutorials do."""
    image = Image.open(io.BytesIO(request.get_data())).convert("L").resize((28, 28))
    pixels = 255.0 - np.asarray(image, dtype=np.float32)  # dark ink on light -> MNIST polarity
    probabilities = get_model().model.predict(pixels.reshape(1, 28, 28, 1), verbose=0)[0]
    return jsonify(digit=int(probabilities.argmax()), probabilities=probabilities.tolist())


def create_bench_app() -> Flask:
    """The real app with the comparison endpoints added."""
    app = create_app()
    app.register_blueprint(bp)
    return app
