"""The "Why did it read that?" page and POST /api/attribution: which pixels made the reading."""

from __future__ import annotations

import numpy as np
from flask import Blueprint, Response, jsonify, render_template, request

from webapp import attribution
from webapp.admission import offload
from webapp.api import (
    admitted, compare_requested, gate_verdict, loaded_registry, prepared_image, reading, requested_network,
)
from webapp.errors import ApiError

bp = Blueprint("why", __name__)

SUBJECTS = ("network", "gate")
# Methods computed by numpy alone (webapp.backward), run off the event loop with ``offload``: Integrated
# Gradients takes 10-100 ms per network, and five networks side by side (compare=1) up to several hundred,
# which would hold a gevent worker's other requests that long. Occlusion reads the patches through the
# served LiteRT interpreters (a few ms per network), in the request's own greenlet.
OFFLOADED = ("saliency", "gradient-x-input", "grad-cam", "integrated-gradients")


@bp.get("/why")
def page() -> str:
    """Show the attribution maps of every served network for the current drawing."""
    return render_template("why.html", methods=attribution.METHODS)


def _small_number(text: str) -> bool:
    """ASCII digits, a few of them (int() refuses thousands of digits; a query has no use for them)."""
    text = text.strip()
    return text.isascii() and text.isdigit() and len(text) <= 6


def _integer(name: str, default: int | None, low: int, high: int, code: str, what: str) -> int | None:
    """Query parameter ``name`` as an integer in [low, high], or ``default`` when absent."""
    text = request.args.get(name)
    if text is None:
        return default
    if not _small_number(text) or not low <= int(text) <= high:
        raise ApiError(400, code, f"{name} must be {what} ({low}-{high}), not {text!r}")
    return int(text)


def _cell(size: int) -> tuple[int, int] | None:
    """``at=<row>,<column>``: a pixel of the network's input, or None."""
    text = request.args.get("at")
    if text is None:
        return None
    parts = text.split(",")
    if len(parts) != 2 or not all(_small_number(part) for part in parts):
        raise ApiError(400, "invalid-cell", f"at must be <row>,<column> of the {size}x{size} input, not {text!r}")
    row, column = (int(part) for part in parts)
    if not (row < size and column < size):
        raise ApiError(400, "invalid-cell", f"at={text} is outside the {size}x{size} input (rows and columns 0-{size - 1})")
    return row, column


@bp.post("/api/attribution")
@admitted
def attribution_() -> Response:
    """Say which pixels of the drawing made the network's (or the gate's) score for one class."""
    network = requested_network()
    method = request.args.get("method")
    if method not in attribution.METHODS:
        raise ApiError(
            400, "unknown-method",
            f"method must be one of {', '.join(attribution.METHODS)}, not {method!r}; "
            "e.g. /api/attribution?method=saliency",
        )
    subject_kind = request.args.get("of", "network")
    if subject_kind not in SUBJECTS:
        raise ApiError(400, "invalid-of", f"of must be network (the default) or gate, not {subject_kind!r}")
    registry = loaded_registry()
    gate = registry.gate
    if subject_kind == "gate":
        if gate is None:
            raise ApiError(404, "no-gate", "this server has no not-a-digit gate to explain; leave out of=gate")
        if "target" in request.args:
            raise ApiError(
                400, "target-with-gate", "of=gate explains the gate's not-a-digit score; leave out target"
            )
        subject = gate.network
    else:
        subject = network
    target = _integer("target", None, 0, 9, "invalid-target", "a digit")
    patch = _integer("patch", attribution.DEFAULT_PATCH, attribution.PATCH_SIZES.start, attribution.PATCH_SIZES.stop - 1,
                     "invalid-patch", "the occlusion patch's side in pixels")
    steps = _integer("steps", attribution.DEFAULT_STEPS, *attribution.STEP_RANGE, "invalid-steps",
                     "the Integrated Gradients steps")
    cell = _cell(subject.input_size)

    compare = compare_requested()
    if compare and subject_kind == "gate":
        raise ApiError(400, "compare-with-gate", "the gate is one network for all: of=gate takes no compare=1")

    prepared = prepared_image()
    # The gate's verdict on the drawing is the same for every network: read once per request.
    not_a_digit = gate_verdict(prepared, gate)
    try:
        answer = _attribute(network, prepared, method, subject_kind, target, patch, steps, gate, not_a_digit)
        if cell is not None:
            answer["cell"] = {"at": list(cell), **answer.pop("_cell")(*cell)}
        answer.pop("_cell", None)
        if compare:
            # Every served network on the same drawing, method and target (default: the digit each one read).
            entries = []
            for name in registry.names:
                if name == network.name:  # computed above
                    entries.append({key: value for key, value in answer.items() if key != "cell"})
                    continue
                # A network the method cannot explain (Grad-CAM on a network with no convolution, e.g. an
                # imported one) is one entry without a map, not a failed request for every network.
                entry = _attribute(registry.get(name), prepared, method, "network", target, patch, steps, gate,
                                   not_a_digit, unexplained_entry=True)
                entry.pop("_cell", None)
                entries.append(entry)
            answer["compare"] = entries
    except attribution.AttributionError as error:
        raise ApiError(400, error.code, error.message) from None
    return jsonify(answer)


def _attribute(network, prepared, method: str, subject_kind: str, target: int | None, patch: int, steps: int,
               gate, not_a_digit: float | None, unexplained_entry: bool = False) -> dict:
    """One network's (or the gate's) map for the drawing, with the network's reading; ``_cell`` answers a cell.

    ``not_a_digit`` is ``gate_verdict()`` for the drawing, read once for all the request's networks. With
    ``unexplained_entry``, a network the method cannot explain answers its reading, the target and
    ``error`` (no map, no ``_cell``) instead of raising ``AttributionError``.
    """
    subject = gate.network if subject_kind == "gate" else network
    probabilities = network.predict(prepared.image)
    answer = reading(prepared, network, None if prepared.empty else probabilities, gate, not_a_digit=not_a_digit)
    if subject_kind == "gate":
        target = attribution.classes(subject.layers) - 1  # the gate's last class: not a digit
    elif target is None:
        # The digit read; when none is read, the network's most probable one (its own, even for a blank).
        target = answer["digit"] if answer["digit"] is not None else int(np.argmax(probabilities))
    image = subject.input_image(prepared.image)
    top = attribution.score_layer(subject.layers)

    def logits_of(batch: np.ndarray) -> np.ndarray:
        return np.stack([subject.features(one)[top] for one in batch])

    run = offload if method in OFFLOADED else _direct
    # The weights are read here, in the request's greenlet (Network.kernels loads them once, under a lock).
    try:
        result, encoded = run(_computed, method, subject.layers, subject.kernels(), image, target, logits_of, patch,
                              steps)
    except attribution.AttributionError as error:
        if not unexplained_entry:
            raise
        answer.update({"model": network.name, "of": subject_kind, "method": method, "target": target,
                       "error": {"code": error.code, "message": error.message}})
        return answer
    answer.update({"model": network.name, "of": subject_kind, **encoded, "_cell": result.cell})
    if subject_kind == "gate":
        answer["target_name"] = "not-a-digit"
        answer["gate_input"] = image.tolist()
    return answer


def _computed(method: str, layers, weights, image: np.ndarray, target: int, logits_of, patch: int, steps: int):
    """The map and its JSON (the rounding of every value is work too), for ``offload``: numpy only."""
    result = attribution.attribute(method, layers, weights, image, target, logits_of=logits_of, patch=patch, steps=steps)
    return result, result.to_json()


def _direct(function, *args):
    return function(*args)
