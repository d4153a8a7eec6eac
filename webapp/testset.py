"""The API for MNIST's shipped test digits: one by index, a random one, and a confusion-matrix cell's."""

from __future__ import annotations

import random

from flask import Blueprint, Response, current_app, jsonify, request

from webapp import record
from webapp.errors import ApiError
from webapp.mnist import SIZE, digit_json, shipped_test_set
from webapp.registry import UnknownModel, network_names

bp = Blueprint("testset", __name__, url_prefix="/api/mnist")

MAX_LIMIT = 500


def _int_arg(name: str, low: int, high: int, default: int | None = None) -> int | None:
    """Query argument ``name`` as an int in [low, high], or ``default`` when absent."""
    text = request.args.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ApiError(400, f"invalid-{name}", f"{name} must be a whole number from {low} to {high}; got {text[:40]!r}")
    return value


def _cacheable(response: Response) -> Response:
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@bp.get("/<int:index>")
def digit(index: int) -> Response:
    """Send one MNIST test digit: its label and pixels."""
    if index >= SIZE:
        raise ApiError(404, "unknown-digit", f"MNIST's test set has digits 0 to {SIZE - 1}; there is no {index}")
    return _cacheable(jsonify(digit_json(index)))


@bp.get("/random")
def random_digit() -> Response:
    """Send a random MNIST test digit, of one label if ``label`` is given."""
    label = _int_arg("label", 0, 9)
    labels = shipped_test_set().labels
    candidates = range(SIZE) if label is None else (labels == label).nonzero()[0]
    return jsonify(digit_json(int(random.choice(candidates))))


@bp.get("")
def cell() -> Response:
    """Send the test digits of one confusion-matrix cell: labelled ``label``, read as ``predicted`` by ``model``."""
    name = request.args.get("model", current_app.config["DEFAULT_MODEL"])
    label = _int_arg("label", 0, 9)
    predicted = _int_arg("predicted", 0, 9)
    if label is None or predicted is None:
        raise ApiError(400, "missing-cell", "give label=<0-9> and predicted=<0-9>: the cell's true and read digit")
    offset = _int_arg("offset", 0, SIZE, default=0)
    limit = _int_arg("limit", 1, MAX_LIMIT, default=100)
    try:
        indices = record.cell_indices(name, label, predicted)
    except UnknownModel:
        raise ApiError(404, "unknown-model", f"no network is called {name[:60]!r}; the networks are {', '.join(network_names())}") from None
    if indices is None:
        raise ApiError(404, "no-predictions", f"the card of {name} does not record its reading of each test digit")
    digits = []
    for index in indices[offset : offset + limit]:
        item = digit_json(int(index))
        item["predicted"] = predicted
        digits.append(item)
    return _cacheable(
        jsonify(model=name, label=label, predicted=predicted, total=len(indices), offset=offset, digits=digits)
    )
