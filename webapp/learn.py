"""Learning from one drawing: POST /api/learn, POST /api/learn/explain and the /learn page.

Stateless: every request starts from the served weights, takes its steps on
a copy of them and forgets it; two equal requests get equal answers (dropout
acts as at inference). The arithmetic is webapp/backward.py (the backward
pass) and webapp/optimizer.py (the optimizers and the steps).

How the work of one request is bounded:
- one image, at most MAX_STEPS (50) steps, a learning rate in (0, MAX_RATE];
- the probe (accuracy on PROBE_SIZE fixed MNIST test digits) runs once per
  request, after the last step, in chunks of PROBE_CHUNK images (memory), and
  its "before" is computed once per network and process; ``probe=0`` leaves it out;
- each worker computes one learning request at a time (LEARN_CONCURRENCY), and
  one request with the probe beside it;
  one that waits longer than QUEUE_TIMEOUT_SECONDS for its turn is a 503 busy;
  one whose client has closed the connection (the page asked again with new
  settings) is dropped when its turn comes, and a probe stops between chunks;
  the image is read in a work slot as on every endpoint, but no work slot is
  held while the steps are computed or awaited, so /api/predict is never queued
  behind learning;
- the computation runs through ``admission.offload``: on gevent workers in a
  native thread, off the event loop, so the worker's other requests (predict,
  pages) keep being answered while numpy works.
"""

from __future__ import annotations

import _socket
import math
import os
import threading
from collections.abc import Callable
from typing import TypeVar

import numpy as np
from flask import Blueprint, Response, current_app, jsonify, render_template, request

from webapp import backward, explain, features, optimizer
from webapp.admission import offload
from webapp.api import admitted, compressed, json_answer, loaded_registry, prepared_image, reading, requested_network
from webapp.errors import ApiError
from webapp.process_local import per_process

bp = Blueprint("learn", __name__)

NUM_CLASSES = 10
MAX_STEPS = 50
MAX_RATE = 10.0
PROBE_SIZE = 1000  # MNIST's first 1,000 test digits (about 100 of each)
PROBE_CHUNK = 50
LEARN_CONCURRENCY = 1
OF_CHOICES = ("output", "kernel", "bias", "gamma", "beta")  # gamma, beta: a BatchNormalization's

T = TypeVar("T")


# --- The request's settings ----------------------------------------------------------------------


def requested_label() -> int:
    text = request.args.get("label")
    if text is None:
        raise ApiError(400, "missing-label", "say which digit the drawing is with label=<0-9>")
    if text.strip() not in {str(digit) for digit in range(NUM_CLASSES)}:
        raise ApiError(400, "invalid-label", f"label must be a digit from 0 to 9; got {text[:40]!r}")
    return int(text)


def requested_steps() -> int:
    text = request.args.get("steps", "1")
    try:
        steps = int(text)
    except ValueError:
        steps = None
    if steps is None or not 1 <= steps <= MAX_STEPS:
        raise ApiError(400, "invalid-steps", f"steps must be a whole number from 1 to {MAX_STEPS}; got {text[:40]!r}")
    return steps


def requested_optimizer() -> str:
    kind = request.args.get("optimizer", "sgd")
    if kind not in optimizer.OPTIMIZERS:
        raise ApiError(
            400, "unknown-optimizer", f"optimizer must be one of {', '.join(optimizer.OPTIMIZERS)}; got {kind[:40]!r}"
        )
    return kind


def requested_rate(kind: str) -> float:
    text = request.args.get("rate")
    if text is None:
        return optimizer.DEFAULT_RATES[kind]
    try:
        rate = float(text)
    except ValueError:
        rate = math.nan
    if not (math.isfinite(rate) and 0 < rate <= MAX_RATE):
        raise ApiError(
            400, "invalid-rate",
            f"rate (the learning rate) must be a number above 0 and at most {MAX_RATE:g}; got {text[:40]!r} "
            f"(the default for {kind} is {optimizer.DEFAULT_RATES[kind]:g})",
        )
    return rate


def requested_flag(name: str, default: bool) -> bool:
    text = request.args.get(name)
    if text is None:
        return default
    if text not in ("0", "1"):
        raise ApiError(400, f"invalid-{name.replace('_', '-')}", f"{name} must be 0 or 1, not {text[:40]!r}")
    return text == "1"


# --- Bounded work ----------------------------------------------------------------------------------


def _learn_slots(kind: str) -> threading.BoundedSemaphore:
    app = current_app._get_current_object()
    return per_process(app, f"digit_lens_{kind}_slots", lambda: threading.BoundedSemaphore(LEARN_CONCURRENCY))


def bounded(work: Callable[[Callable[[], bool]], T], kind: str = "learn") -> T:
    """Run ``work(gone)`` as this worker's one computation of ``kind``, off the event loop (``offload``).

    Requests with the probe ("probe") take their turns apart from the others ("learn"), so that a probe
    (a forward pass of 1,000 digits) never holds up a step or an explanation. ``gone()`` says whether
    the client has closed its connection (the page gave up on this answer and asked again): a request
    whose client left while it waited for its turn is dropped then, and the probe stops between chunks,
    so abandoned requests do not queue up ahead of the one the learner is waiting for.
    """
    slots = _learn_slots(kind)
    if not slots.acquire(timeout=float(current_app.config["QUEUE_TIMEOUT_SECONDS"])):
        raise ApiError(503, "busy", "the server is computing other learning steps; retry in a moment", {"Retry-After": "1"})
    try:
        gone = client_gone_check(request.environ)
        if gone():
            raise ClientGone()
        return offload(work, gone)
    finally:
        slots.release()


class ClientGone(ApiError):
    """The client closed its connection before its answer was computed: nobody will read it."""

    def __init__(self) -> None:
        super().__init__(499, "client-gone", "the connection was closed before the answer was computed")


def client_gone_check(environ: dict) -> Callable[[], bool]:
    """A function saying whether the request's client has closed its connection; safe in any thread.

    It peeks at the socket gunicorn put in the environ (through a duplicate of its descriptor and the
    C-level socket, which gevent does not patch, so it never waits): end of file means the client has
    gone. Without such a socket (the tests' client) the client is always there.
    """
    sock = environ.get("gunicorn.socket")
    if sock is None:
        return lambda: False
    descriptor = sock.fileno()

    def gone() -> bool:
        try:
            peek = _socket.socket(fileno=os.dup(descriptor))
        except OSError:
            return True
        try:
            return peek.recv(1, _socket.MSG_PEEK | _socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False  # open, and nothing more sent: still waiting for its answer
        except OSError:
            return True
        finally:
            peek.close()

    return gone


# --- The probe: a fixed set of MNIST test digits ----------------------------------------------------

# Filled once per process; plain dicts without locks, because they are filled from the native thread
# the work runs in (a gevent lock there would be the event loop's), and computing an entry twice is harmless.
_probe_sets: dict[int, tuple[np.ndarray, np.ndarray]] = {}
_probe_before: dict[tuple, float] = {}


def probe_set(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The probe's images at input size ``size`` (uint8, ink = 255) and their labels."""
    if size not in _probe_sets:
        from webapp.mnist import shipped_test_set
        from webapp.preprocess import fit_to_input

        data = shipped_test_set()
        images = np.stack([fit_to_input(image, size) for image in data.images[:PROBE_SIZE]])
        _probe_sets[size] = (images, data.labels[:PROBE_SIZE].astype(np.int64))
    return _probe_sets[size]


def accuracy(layers, weights, size: int, gone: Callable[[], bool] = lambda: False) -> float:
    """The share of the probe's digits the network with ``weights`` reads right (ClientGone once ``gone()``)."""
    images, labels = probe_set(size)
    right = 0
    for start in range(0, len(images), PROBE_CHUNK):
        if gone():
            raise ClientGone()
        probabilities = backward.forward(layers, weights, images[start : start + PROBE_CHUNK])[-1]
        right += int((probabilities.argmax(axis=1) == labels[start : start + PROBE_CHUNK]).sum())
    return right / len(images)


def accuracy_before(key: tuple, layers, weights, size: int, gone: Callable[[], bool] = lambda: False) -> float:
    """The served weights' probe accuracy, computed once per network (``key``) and process."""
    if key not in _probe_before:
        _probe_before[key] = accuracy(layers, weights, size, gone)
    return _probe_before[key]


# --- Encoding ------------------------------------------------------------------------------------------


def floats(values) -> list[float | None]:
    """Plain floats for JSON; a value that is not finite (a step that diverged) is null."""
    return [float(value) if math.isfinite(value) else None for value in np.asarray(values, np.float64).reshape(-1)]


def number(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def encoded(values: np.ndarray) -> dict:
    """One array as /api/features encodes a layer (uint8 per channel, last axis = channel), with its shape."""
    values = np.asarray(values, np.float32)
    if not (np.isfinite(values.min()) and np.isfinite(values.max())):  # a step that diverged (no array made)
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    return {"shape": list(values.shape), **features.encode_values(values)}


def probability_gradient(probabilities: np.ndarray, label: int) -> np.ndarray:
    """d loss / d probabilities of L = -log p[label]: -1 / p at the label, 0 elsewhere."""
    gradient = np.zeros_like(probabilities)
    gradient[label] = -1.0 / max(float(probabilities[label]), float(np.finfo(np.float32).tiny))
    return gradient


def encode_gradient_layers(network, training: optimizer.Training, label: int, dense_kernels: bool = True) -> list[dict]:
    """Every layer's gradients for /api/learn's ``layers``; without ``dense_kernels``, no Dense layer's kernel
    gradient (the largest part of the answer: 401,408 of digit-lens's 430,698 weight gradients, which the page does not
    draw; each one is input × δ, and /api/learn/explain gives any of them)."""
    entries = []
    for position, layer in enumerate(network.layers):
        gradient = training.gradients.outputs[position]
        if gradient is None:  # the softmax: d loss / d probabilities
            gradient = probability_gradient(training.outputs[-1][0], label)[None]
        entry = {"name": layer.name, "kind": layer.kind, "shape": list(layer.shape),
                 "output_gradient": encoded(gradient[0])}
        inputs = training.outputs[position - 1] if position > 0 else None
        if layer.kind == "ReLU":
            # Where the gradient passes (1) and stops (0): the input was positive, or not.
            entry["mask"] = encoded((inputs[0] > 0).astype(np.float32))
        elif layer.kind == "MaxPooling2D":
            # Which input cell each window kept, the only one its gradient goes back to (1).
            kept, _ = backward.pooling_backward(np.ones_like(training.outputs[position]), inputs,
                                                training.outputs[position], layer, {})
            entry["routes"] = encoded((kept[0] > 0).astype(np.float32))
        if layer.name in training.gradients.weights:
            entry["weight_gradient"] = {
                variable: encoded(value) for variable, value in training.gradients.weights[layer.name].items()
                if dense_kernels or not (layer.kind == "Dense" and variable == "kernel")
            }
        entries.append(entry)
    return entries


# --- The API -------------------------------------------------------------------------------------------


def admitted_image():
    """The request's image, read in one of the worker's work slots (as every image endpoint reads it).

    The slot is held while the image is read, not while the steps are computed: a learning request
    waiting for its turn must not keep /api/predict from the worker's slots.
    """
    return admitted(prepared_image)()


@bp.post("/api/learn")
def learn() -> Response:
    """Take training steps on a copy of the network's weights, teaching it the drawing as ``label``."""
    network = requested_network()
    label = requested_label()
    kind = requested_optimizer()
    rate = requested_rate(kind)
    steps = requested_steps()
    with_probe = requested_flag("probe", True)
    with_layers = requested_flag("layers", True)
    with_dense_kernels = requested_flag("dense_kernels", True)
    prepared = admitted_image()
    image = network.input_image(prepared.image)
    layers = network.layers
    key, size = (network.name, getattr(network, "weights_version", id(network))), network.input_size

    def work(gone):
        weights = network.kernels()  # the large dense kernels are read from the file on each call: off the loop
        training = optimizer.take_steps(layers, weights, image[None], [label], optimizer.OPTIMIZERS[kind](rate), steps)
        probe = None
        if with_probe:
            probe = {"size": PROBE_SIZE, "before": accuracy_before(key, layers, weights, size, gone),
                     "after": accuracy(layers, training.weights, size, gone)}
        # Encoding the gradients (~10 ms on digit-lens) off the event loop too.
        encoded_layers = encode_gradient_layers(network, training, label, with_dense_kernels) if with_layers else None
        return training, probe, encoded_layers

    training, probe, encoded_layers = bounded(work, "probe" if with_probe else "learn")
    probabilities = training.outputs[-1][0]
    answer = {
        "model": network.name,
        "label": label,
        "optimizer": kind,
        "rate": rate,
        "steps": steps,
        "input": image.tolist(),
        "reading": {key: value for key, value in reading(prepared, network, None if prepared.empty else probabilities,
                                                         loaded_registry().gate).items()
                    if key in ("digit", "confidence", "reason")},
        "loss": number(training.loss),
        "probabilities": floats(probabilities),
        "delta": floats(training.gradients.outputs[-2][0]),
        "trajectory": [{"loss": number(step.loss), "probabilities": floats(step.probabilities[0])}
                       for step in training.trajectory],
        "probe": probe,
    }
    if with_layers:
        answer["layers"] = encoded_layers
    return compressed(json_answer(answer))


def requested_gradient_cell(network) -> tuple[int, str, tuple[int, ...]]:
    """(layer position, of, at) of /api/learn/explain, checked against the network."""
    try:
        position = explain.find_layer(network.layers, request.args.get("layer"))
    except explain.ExplainError as error:
        raise ApiError(400, error.code, error.message) from None
    layer = network.layers[position]
    of = request.args.get("of", "output")
    if of not in OF_CHOICES:
        raise ApiError(400, "invalid-of", f"of must be output, kernel, bias, gamma or beta; got {of[:40]!r}")
    if of == "output":
        shape = layer.shape
    else:
        variables = offload(network.kernels).get(layer.name, {})  # reads the large kernels: off the loop
        if of not in variables:
            has = f"its weights are {', '.join(variables)}" if variables else "it has no weights"
            raise ApiError(400, "no-weights", f"{layer.name} is a {layer.kind}: {has}; ask of=output for it")
        shape = variables[of].shape
    try:
        at = explain.parse_cell(request.args.get("at"), shape, f"{layer.name} ({of})")
    except explain.ExplainError as error:
        raise ApiError(400, error.code, error.message) from None
    return position, of, at


@bp.post("/api/learn/explain")
def learn_explain() -> Response:
    """Show how one gradient number was computed by the chain rule, beside the gradient check (勾配確認)."""
    network = requested_network()
    label = requested_label()
    position, of, at = requested_gradient_cell(network)
    kind = requested_optimizer()
    rate = requested_rate(kind)
    prepared = admitted_image()
    image = network.input_image(prepared.image)[None]
    layers = network.layers

    def work(gone) -> dict:
        weights = network.kernels()  # off the loop, as in learn()
        outputs = backward.forward(layers, weights, image)
        probabilities = outputs[-1][0]
        top = len(layers) - 2
        delta = backward.softmax_loss_gradient(outputs[-1], [label])
        gradients = backward.backward(layers, weights, outputs, delta, layers[top].name)
        layer = layers[position]
        if of == "output" and position == top:
            answer = {"layer": layer.name, "kind": layer.kind, "of": of, "at": list(at),
                      "value": float(gradients.outputs[top][0][at]), "through": layers[-1].name,
                      **backward.softmax_loss_cell(probabilities, label, at[0])}
        elif of == "output" and position == len(layers) - 1:
            value = probability_gradient(probabilities, label)[at]
            answer = {"layer": layer.name, "kind": layer.kind, "of": of, "at": list(at), "value": float(value),
                      "through": "loss", **backward.cross_entropy_cell(probabilities, label, at[0])}
        else:
            answer = backward.gradient_terms(layers, weights, outputs, gradients, position, of, at)
        if position < len(layers) - 1:
            answer["numerical"] = backward.numerical_gradient(layers, weights, image, [label], position, of, at)
        if of != "output":
            weight = weights[layer.name][of][at]
            gradient = gradients.weights[layer.name][of][at]
            params = {"w": np.array([weight], np.float32)}
            optimizer.OPTIMIZERS[kind](rate).update(params, {"w": np.array([gradient], np.float32)})
            answer["update"] = {"optimizer": kind, "rate": rate, "weight": float(weight), "gradient": float(gradient),
                                "new": float(params["w"][0])}
        answer.update(model=network.name, label=label, loss=float(backward.cross_entropy_error(outputs[-1], [label])[0]),
                      computed=number(answer["computed"]))
        return answer

    return compressed(jsonify(bounded(work)))


# --- The page ---------------------------------------------------------------------------------------------


@bp.get("/learn")
def page() -> str:
    """Show one training step on the drawing, every gradient explained."""
    return render_template("learn.html")
