"""The JSON API: /api/models, /api/predict, /api/features, /api/kernels, and the health checks."""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
import secrets
from pathlib import Path

import numpy as np
from flask import Blueprint, Response, current_app, jsonify, request

from webapp import explain, features, metrics
from webapp.admission import _work_slots, admitted  # noqa: F401 - importable from here, as before
from webapp.checkpoints import UnknownCheckpoint
from webapp.errors import ApiError
from webapp.gate import Gate
from webapp.model import Network
from webapp.preprocess import Prepared, PreprocessError, prepare
from webapp.registry import ModelNotReady, Registry, UnknownModel, get_holder, get_registry

bp = Blueprint("api", __name__)

OPENAPI = Path(__file__).resolve().parent / "openapi.json"

NUM_CLASSES = 10
DATA_URL_PREFIX = "data:"

# Error slug -> HTTP status for errors found in the image itself.
IMAGE_ERROR_STATUS = {"unsupported-image-format": 415, "image-too-large": 413, "invalid-image": 400}


def _decode_base64(text: str) -> bytes:
    """A data URL (``data:image/png;base64,...``) or a bare base64 string -> bytes."""
    if text.startswith(DATA_URL_PREFIX):
        header, separator, text = text.partition(",")
        media_type = header[len(DATA_URL_PREFIX) :].split(";")[0].strip().lower()
        if not separator or ";base64" not in header:
            raise ApiError(400, "invalid-data-url", "the data URL must look like data:image/png;base64,<data>")
        if media_type != "image/png":
            raise ApiError(
                415,
                "unsupported-image-format",
                f"the data URL holds {media_type or 'no media type'}; only image/png is accepted",
            )
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(
            400, "invalid-base64", "the image is not valid base64; send a data URL or a base64 string of a PNG"
        ) from None


def read_image_bytes() -> bytes:
    """The PNG bytes of the request, from any of the three accepted forms."""
    mimetype = request.mimetype
    if mimetype == "image/png":
        data = request.get_data(cache=False)
    elif mimetype == "multipart/form-data":
        upload = request.files.get("image")
        if upload is None:
            raise ApiError(400, "missing-image", "the multipart form has no file field named 'image'")
        data = upload.read()
    elif mimetype == "application/json":
        try:
            payload = json.loads(request.get_data(cache=False))
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise ApiError(
                400, "invalid-json", 'the body is not valid JSON; send {"image": "data:image/png;base64,..."}'
            ) from None
        if not isinstance(payload, dict) or not isinstance(payload.get("image"), str):
            raise ApiError(
                400, "missing-image", 'the JSON must be an object with a string field "image" (a PNG data URL or base64)'
            )
        data = _decode_base64(payload["image"])
    else:
        raise ApiError(
            415,
            "unsupported-media-type",
            f"Content-Type {mimetype or '(none)'} is not accepted; send image/png, multipart/form-data "
            "with a file field 'image', or application/json with {\"image\": \"data:image/png;base64,...\"}",
        )
    if not data:
        raise ApiError(400, "empty-image", "the image is empty (0 bytes); send a PNG")
    return data


def prepared_image() -> Prepared:
    """Read and preprocess the request's image, turning its faults into API errors."""
    data = read_image_bytes()
    try:
        return prepare(
            data,
            max_pixels=int(current_app.config["MAX_IMAGE_PIXELS"]),
            max_side=int(current_app.config["MAX_IMAGE_SIDE"]),
            max_bytes=int(current_app.config["MAX_IMAGE_BYTES"]),
        )
    except PreprocessError as error:
        raise ApiError(IMAGE_ERROR_STATUS.get(error.code, 400), error.code, error.message) from None


def loaded_registry() -> Registry:
    """This process's networks, once loaded; 503 while they load."""
    try:
        return get_registry()
    except ModelNotReady as error:
        raise ApiError(
            503, "model-not-ready", f"the model is not loaded yet ({error}); retry shortly", {"Retry-After": "2"}
        ) from None


def requested_network() -> Network:
    """The network the request names with ``?model=<name>`` (default: the default network),
    at the checkpoint ``?checkpoint=<name>`` names (default: "final", the served network)."""
    registry = loaded_registry()
    name = request.args.get("model")
    checkpoint = request.args.get("checkpoint")
    try:
        return registry.get(name, checkpoint)
    except UnknownModel:
        raise ApiError(
            404, "unknown-model", f"there is no model named {name!r}; choose one of {', '.join(registry.names)} "
            "(GET /api/models lists them)"
        ) from None
    except UnknownCheckpoint:
        known = [entry["name"] for entry in registry.checkpoints.listed(name or registry.default)]
        raise ApiError(
            404, "unknown-checkpoint", f"model {name or registry.default!r} has no checkpoint named {checkpoint!r}; "
            f"choose one of {', '.join(known) or 'final'} (GET /api/models lists them)"
        ) from None


def gate_verdict(prepared: Prepared, gate: Gate | None) -> float | None:
    """The gate's P(not a digit) for the drawing: None when nothing is drawn or there is no gate."""
    if prepared.empty or gate is None:
        return None
    return gate.not_a_digit(prepared.image)


def verdict(
    prepared: Prepared,
    network: Network,
    probabilities: np.ndarray | None,
    gate: Gate | None = None,
    *,
    not_a_digit: float | None = None,
) -> tuple[np.ndarray, int, float, str | None, float | None]:
    """What a reading says, counted in /metrics: (probabilities as float64 summing to 1, best digit, its
    probability, reason or None, the gate's P(not a digit) or None). See ``reading``."""
    if prepared.empty or probabilities is None:
        # Nothing drawn: no guess at all, not the model's opinion of a blank.
        probabilities = np.full(NUM_CLASSES, 1.0 / NUM_CLASSES)
        reason = "empty"
    else:
        reason = None
    probabilities = probabilities.astype(np.float64)
    probabilities = probabilities / probabilities.sum()
    best = int(probabilities.argmax())
    confidence = float(probabilities[best])
    if reason:
        not_a_digit = None
    elif not_a_digit is None:
        not_a_digit = gate_verdict(prepared, gate)
    if not_a_digit is not None and gate.rejects(not_a_digit):
        reason = "not-a-digit"
    if reason is None and confidence < float(current_app.config["UNCERTAIN_BELOW"]):
        reason = "uncertain"
    metrics.reading(network.name, reason)
    return probabilities, best, confidence, reason, not_a_digit


def reading(
    prepared: Prepared,
    network: Network,
    probabilities: np.ndarray | None,
    gate: Gate | None = None,
    *,
    not_a_digit: float | None = None,
) -> dict:
    """The prediction part of an answer, from the image, the network's probabilities and the gate's verdict.

    The probabilities stay the network's own even when the gate says the
    drawing is not a digit: a network trained on ten digits always picks one.
    ``not_a_digit``, when given, is ``gate_verdict()`` already computed for
    this drawing, so a request that reads it for several networks runs the gate once.
    """
    probabilities, best, confidence, reason, not_a_digit = verdict(
        prepared, network, probabilities, gate, not_a_digit=not_a_digit
    )
    return {
        "digit": None if reason else best,
        "probabilities": [float(value) for value in probabilities],
        "confidence": confidence,
        "reason": reason,
        "not_a_digit": None if not_a_digit is None else round(not_a_digit, 6),
        # What the network saw: 28x28, or centred in 32x32 for a 32x32 network.
        "input": network.input_image(prepared.image).tolist(),
    }


def compare_requested() -> bool:
    """Whether the request asks for every network's reading too (``?compare=1``)."""
    value = request.args.get("compare", "0")
    if value not in ("0", "1"):
        raise ApiError(400, "invalid-compare", f"compare must be 0 or 1, not {value!r}")
    return value == "1"


def comparison(
    prepared: Prepared, known: dict[str, np.ndarray | None] | None = None, not_a_digit: float | None = None
) -> list[dict]:
    """Every served network's reading of the same preprocessed drawing: model, digit, confidence, reason.

    One request answers for all of them: the PNG is decoded and preprocessed
    once, the gate runs once (``not_a_digit``: its verdict, when already
    computed), and each network runs once: ``known`` holds the probabilities
    already computed for this drawing, by network name.
    """
    registry = loaded_registry()
    known = known or {}
    if not_a_digit is None:
        not_a_digit = gate_verdict(prepared, registry.gate)
    answers = []
    for name in registry.names:
        network = registry.get(name)
        if name in known:
            probabilities = known[name]
        else:
            probabilities = None if prepared.empty else network.predict(prepared.image)
        # Only what the row shows: not each network's input image and probabilities, which nothing reads.
        _, best, confidence, reason, _ = verdict(prepared, network, probabilities, registry.gate, not_a_digit=not_a_digit)
        answers.append({"model": name, "digit": None if reason else best, "confidence": confidence, "reason": reason})
    return answers


@bp.post("/api/predict")
@admitted
def predict() -> Response:
    """Read one drawn digit (with ``?compare=1``, every network's reading of it too)."""
    network = requested_network()
    compare = compare_requested()
    prepared = prepared_image()
    registry = loaded_registry()
    not_a_digit = gate_verdict(prepared, registry.gate)
    probabilities = None if prepared.empty else network.predict(prepared.image)
    answer = reading(prepared, network, probabilities, registry.gate, not_a_digit=not_a_digit)
    if compare:
        # The chosen network's reading is one of the row's, at the checkpoint the request chose
        # (?checkpoint=; the others as served): reuse it rather than run that network again.
        answer["compare"] = comparison(prepared, {network.name: probabilities}, not_a_digit)
    return jsonify(answer)


@bp.post("/api/features")
@admitted
def features_() -> Response:
    """Read one drawn digit and show every layer's output for it."""
    network = requested_network()
    prepared = prepared_image()
    outputs = network.features(prepared.image)
    answer = reading(prepared, network, None if prepared.empty else outputs[-1], loaded_registry().gate)
    answer["layers"] = features.encode_layers(network.layers, outputs)
    return compressed(jsonify(answer))


@bp.post("/api/explain")
@admitted
def explain_() -> Response:
    """Show how one number of one layer was computed for one drawn digit."""
    network = requested_network()
    try:
        position = explain.find_layer(network.layers, request.args.get("layer"))
        layer = network.layers[position]
        cell = explain.parse_cell(request.args.get("at"), layer.shape, layer.name)
    except explain.ExplainError as error:
        raise ApiError(400, error.code, error.message) from None
    prepared = prepared_image()
    outputs = network.features(prepared.image)
    try:
        answer = explain.explain_cell(network.layers, outputs, network.kernels(), position, cell)
    except explain.ExplainError as error:
        raise ApiError(400, error.code, error.message) from None
    return jsonify(answer)


@bp.get("/api/kernels")
def kernels() -> Response:
    """Send the convolution kernels, which do not change per drawing."""
    network = requested_network()
    kinds = {info.name: info.kind for info in network.layers}
    response = jsonify(layers=features.encode_kernels(network.kernels(), kinds))
    response.set_etag(f"{network.name}-{network.weights_version}")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response.make_conditional(request)


@bp.get("/api/models")
def models() -> Response:
    """List the served networks, the default first."""
    registry = loaded_registry()
    return jsonify(
        default=registry.default,
        models=[
            {**registry.get(name).summary(), "checkpoints": registry.checkpoints.listed(name)} for name in registry.names
        ],
    )


# Below this size gzip saves too little to be worth its time. Level 1: 110 kB of layers
# become ~40 kB (level 5: ~37 kB) in a third less time.
COMPRESS_AT_LEAST = 4096
GZIP_LEVEL = 1


# Marks json_answer puts where its Base64 strings go: a NUL (escaped by JSON as \u0000, which nothing else in
# an answer holds beside this process's own random token) and the string's number.
_MARK_TOKEN = secrets.token_hex(16)
_MARK = re.compile(r"\\u0000" + _MARK_TOKEN + r"(\d+)\\u0000")


def json_answer(answer: dict) -> Response:
    """``jsonify(answer)``, byte for byte, with its ``features.Base64`` strings written into the body as
    they are instead of scanned by the JSON encoder for characters to escape, which base64 never has.

    A learning step's whole answer is 780 kB, 535 kB of it the dense kernel gradient's base64; the scan
    took 2.6 ms of it (cProfile, digit-lens). The answer is walked through its dicts and lists of dicts.
    """
    blobs: list[str] = []

    def marked(value):
        if type(value) is features.Base64:
            blobs.append(value)
            return f"\0{_MARK_TOKEN}{len(blobs) - 1}\0"
        if isinstance(value, dict):
            return {key: marked(item) for key, item in value.items()}
        if isinstance(value, list) and value and isinstance(value[0], (dict, list, str)):
            return [marked(item) for item in value]
        return value

    response = jsonify(marked(answer))
    if blobs:
        pieces = _MARK.split(response.get_data(as_text=True))
        pieces[1::2] = [blobs[int(number)] for number in pieces[1::2]]
        response.set_data("".join(pieces))
    return response


def compressed(response: Response) -> Response:
    """``response`` gzipped when the client accepts gzip and the body is large (the layers are ~110 kB)."""
    response.vary.add("Accept-Encoding")
    if (
        response.status_code != 200
        or response.direct_passthrough
        or request.accept_encodings["gzip"] <= 0
        or response.content_length is None
        or response.content_length < COMPRESS_AT_LEAST
    ):
        return response
    response.set_data(gzip.compress(response.get_data(), compresslevel=GZIP_LEVEL, mtime=0))
    response.content_encoding = "gzip"
    return response


@bp.get("/api/openapi.json")
def openapi() -> Response:
    """Send the OpenAPI description of this API."""
    response = current_app.response_class(OPENAPI.read_bytes(), mimetype="application/json")
    response.cache_control.max_age = 3600
    return response


@bp.get("/healthz")
def healthz() -> Response:
    """Say the process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Response:
    """Say whether the networks are loaded and warmed up."""
    holder = get_holder()
    holder.start()
    if holder.ready:
        return jsonify(status="ready", models=holder.registry.names, load_seconds=round(holder.load_seconds or 0.0, 3))
    response = jsonify(status="loading" if holder.error is None else "failed", error=holder.error)
    response.status_code = 503
    return response
