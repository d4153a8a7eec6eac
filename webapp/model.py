"""The per-process model holder: the exported networks, run by LiteRT from pooled interpreters.

The server never imports TensorFlow or Keras. Each network is a folder in
``webapp/artifacts/<name>/`` written by ``python -m train.export``:

    model.keras      the trained Keras model (training and export only; never read here)
    predict.tflite   float32 LiteRT model: image -> ten probabilities
    layers.tflite    float32 LiteRT model: image -> every layer's output, each
                     output named (signature name) after its layer
    layers.json      input size and every layer's name, kind, output shape,
                     parameters and settings, in model order
    weights.npz      every weight as exact float32, keyed "<layer>/<variable>"
                     ("conv1/kernel", "conv1/bias", ...)
    card.json        the model card: title, source, accuracy, LiteRT parity figures,
                     the 10,000 test predictions, training record

The registry discovers the networks from these folders (a folder whose name
starts with ``_`` is not served, so helper models can live beside them).
A LiteRT ``Interpreter`` is not thread-safe, so each network keeps a small
pool of interpreters per process, each single-threaded: a request borrows
one for the duration of a call. Interpreters are made in the process that
uses them (after gunicorn's fork), by a background thread, so ``/healthz`` and
``/readyz`` answer while they load.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from flask import Flask, current_app

from webapp.preprocess import fit_to_input
from webapp.process_local import per_process

log = logging.getLogger(__name__)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DEFAULT_MODEL = "digit-lens"

# The files of one network folder (see the module docstring).
KERAS_FILE = "model.keras"
PREDICT_FILE = "predict.tflite"
LAYERS_FILE = "layers.tflite"
LAYERS_JSON = "layers.json"
WEIGHTS_FILE = "weights.npz"
CARD_FILE = "card.json"
SERVED_FILES = (PREDICT_FILE, LAYERS_FILE, LAYERS_JSON, WEIGHTS_FILE, CARD_FILE)


class ModelNotReady(RuntimeError):
    """The networks are still loading (or failed to load)."""


class UnknownModel(LookupError):
    """No served network has this name."""


@dataclass(frozen=True)
class LayerInfo:
    name: str
    kind: str  # the Keras class name: InputLayer, Conv2D, ReLU, MaxPooling2D, ...
    shape: tuple[int, ...]  # output shape without the batch axis
    parameters: int
    settings: dict  # filters, kernel_size, strides, padding, pool_size, units, rate, ... when the layer has them

    @property
    def config(self) -> dict:
        """The settings under the name of Keras's ``get_config()``, which they come from."""
        return self.settings


class InterpreterPool:
    """Single-threaded LiteRT interpreters of one ``.tflite`` file, lent to one thread at a time.

    Interpreters are made on demand, at most ``size`` of them; a thread that
    finds all of them busy waits for one. ``outputs`` maps each signature
    output name to its tensor, read once here, so a call matches outputs by
    name and never by position (the converter orders them its own way).
    """

    def __init__(self, path: Path, size: int):
        self._make = lambda: Interpreter(model_path=str(path), num_threads=1)
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._size = size
        self._made = 0
        first = self._new()
        runner = first.get_signature_runner()
        (self.input_index,) = (details["index"] for details in runner.get_input_details().values())
        self.outputs: dict[str, int] = {name: details["index"] for name, details in runner.get_output_details().items()}
        del runner  # it holds views into the interpreter's tensors, which would block invoke()
        self._idle.put(first)

    def _new(self):
        interpreter = self._make()
        interpreter.allocate_tensors()
        with self._lock:
            self._made += 1
        return interpreter

    @contextmanager
    def borrow(self) -> Iterator:
        """An interpreter for this thread alone until the block ends."""
        try:
            interpreter = self._idle.get_nowait()
        except queue.Empty:
            with self._lock:
                may_make = self._made < self._size
                if may_make:
                    self._made += 1  # reserve the slot before the (slow) construction
            if may_make:
                interpreter = self._make()
                interpreter.allocate_tensors()
            else:
                interpreter = self._idle.get()
        try:
            yield interpreter
        finally:
            self._idle.put(interpreter)

    def run(self, image: np.ndarray, names: list[str]) -> list[np.ndarray]:
        """The outputs ``names`` (batch axis removed) for one float32 (1, H, W, 1) batch."""
        with self.borrow() as interpreter:
            interpreter.set_tensor(self.input_index, image)
            interpreter.invoke()
            # get_tensor copies, so the arrays stay valid after the interpreter is returned.
            return [interpreter.get_tensor(self.outputs[name])[0] for name in names]


@dataclass
class Network:
    """One exported network: predict, every layer's output, its layers, weights and card."""

    name: str
    folder: Path
    card: dict
    layers: list[LayerInfo]
    input_size: int
    pool_size: int = 1
    _predict: InterpreterPool | None = field(default=None, repr=False)
    _features: InterpreterPool | None = field(default=None, repr=False)
    _weights: dict[str, dict[str, np.ndarray]] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, folder: Path, pool_size: int = 1) -> Network:
        """Read a network folder written by ``python -m train.export`` and make its first interpreters."""
        folder = Path(folder)
        missing = [name for name in SERVED_FILES if not (folder / name).is_file()]
        if missing:
            raise FileNotFoundError(f"{folder} lacks {', '.join(missing)}; run python -m train.export")
        metadata = json.loads((folder / LAYERS_JSON).read_text())
        layers = [
            LayerInfo(
                name=entry["name"],
                kind=entry["kind"],
                shape=tuple(entry["output_shape"]),
                parameters=int(entry["parameters"]),
                settings=dict(entry.get("settings", {})),
            )
            for entry in metadata["layers"]
        ]
        network = cls(
            name=folder.name,
            folder=folder,
            card=json.loads((folder / CARD_FILE).read_text()),
            layers=layers,
            input_size=int(metadata["input_size"]),
            pool_size=pool_size,
        )
        network._predict = InterpreterPool(folder / PREDICT_FILE, pool_size)
        network._features = InterpreterPool(folder / LAYERS_FILE, pool_size)
        expected = {info.name for info in layers[1:]}
        if set(network._features.outputs) != expected:
            raise ValueError(
                f"{folder / LAYERS_FILE} has outputs {sorted(network._features.outputs)}, "
                f"but {LAYERS_JSON} lists {sorted(expected)}; re-run python -m train.export"
            )
        if len(network._predict.outputs) != 1:
            raise ValueError(f"{folder / PREDICT_FILE} must have exactly one output")
        return network

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.input_size, self.input_size, 1)

    @property
    def parameters(self) -> int:
        return sum(info.parameters for info in self.layers)

    def input_image(self, image: np.ndarray) -> np.ndarray:
        """The uint8 image this network sees for a 28x28 MNIST-format one (32x32 networks: centred in 32x32)."""
        return fit_to_input(image, self.input_size)

    def _batch(self, image: np.ndarray) -> np.ndarray:
        return self.input_image(image).reshape(1, self.input_size, self.input_size, 1).astype(np.float32)

    def predict(self, image: np.ndarray) -> np.ndarray:
        """Ten float32 probabilities for one uint8 image (28x28, or the network's own size)."""
        (name,) = self._predict.outputs
        return self._predict.run(self._batch(image), [name])[0]

    def features(self, image: np.ndarray) -> list[np.ndarray]:
        """Every layer's float32 output (batch axis removed), in model order, the input layer first."""
        batch = self._batch(image)
        names = [info.name for info in self.layers[1:]]
        return [batch[0], *self._features.run(batch, names)]

    def kernels(self) -> dict[str, dict[str, np.ndarray]]:
        """Every layer's weights as exact float32: {layer: {"kernel": ..., "bias": ...}}, in model order."""
        with self._lock:
            if self._weights is None:
                weights: dict[str, dict[str, np.ndarray]] = {}
                with np.load(self.folder / WEIGHTS_FILE) as archive:
                    for key in archive.files:
                        layer, _, variable = key.rpartition("/")
                        weights.setdefault(layer, {})[variable] = archive[key]
                order = [info.name for info in self.layers]
                self._weights = {name: weights[name] for name in order if name in weights}
            return self._weights

    @functools.cached_property
    def weights_version(self) -> str:
        """A short hash of the weights file, read once: changes whenever the weights do (for ETags)."""
        return hashlib.sha256((self.folder / WEIGHTS_FILE).read_bytes()).hexdigest()[:20]

    def summary(self) -> dict:
        """What ``GET /api/models`` says about this network, from its card."""
        card = self.card
        accuracy = {"mnist_test": card.get("test", {}).get("accuracy")}
        if "drawn" in card:  # the project's own drawn digits (train/drawn.py)
            accuracy["drawn"] = card["drawn"].get("accuracy")
        accuracy.update(card.get("accuracy", {}))
        return {
            "name": self.name,
            "title": card.get("title", self.name),
            "source": card.get("source", ""),
            "parameters": self.parameters,
            "input_shape": list(self.input_shape),
            "accuracy": accuracy,
            "layers": len(self.layers),
        }

    def warm_up(self) -> None:
        """One call of each interpreter, so the first request pays nothing extra."""
        blank = np.zeros((self.input_size, self.input_size), dtype=np.uint8)
        self.predict(blank)
        self.features(blank)


def discover(artifacts: Path = ARTIFACTS) -> list[str]:
    """Names of the networks in ``artifacts``: every folder holding the served files, except ``_``-prefixed ones.

    A folder with a trained ``model.keras`` that was never exported is not a
    served network (yet): ``python -m train.export`` makes it one.
    """
    if not artifacts.is_dir():
        return []
    return sorted(
        folder.name
        for folder in artifacts.iterdir()
        if folder.is_dir()
        and not folder.name.startswith(("_", "."))
        and all((folder / name).is_file() for name in SERVED_FILES)
    )


class Registry:
    """Every served network of this process, by name, and the not-a-digit gate in front of them all."""

    def __init__(self, networks: dict[str, Network], default: str, gate=None):
        if default not in networks:
            raise UnknownModel(f"the default network {default!r} is not among {sorted(networks)}")
        self.networks = networks
        self.default = default
        self.gate = gate  # webapp.gate.Gate, or None: every drawing goes to the network alone

    @classmethod
    def load(cls, artifacts: Path = ARTIFACTS, default: str = DEFAULT_MODEL, pool_size: int = 1) -> Registry:
        from webapp.gate import load_gate

        names = discover(artifacts)
        if not names:
            raise FileNotFoundError(f"no exported network in {artifacts}; run python -m train.export")
        networks = {name: Network.load(artifacts / name, pool_size) for name in names}
        return cls(networks, default, load_gate(artifacts, pool_size))

    @property
    def names(self) -> list[str]:
        """The default first, then the others by name."""
        return [self.default, *sorted(name for name in self.networks if name != self.default)]

    def get(self, name: str | None = None) -> Network:
        """The network called ``name`` (default: the default network)."""
        try:
            return self.networks[name or self.default]
        except KeyError:
            raise UnknownModel(name) from None

    def warm_up(self) -> None:
        for network in self.networks.values():
            network.warm_up()
        if self.gate is not None:
            self.gate.network.warm_up()


class ModelHolder:
    """Loads the registry once per process, in the background, and hands it out when ready."""

    def __init__(self, artifacts: Path, default: str, pool_size: int):
        self.artifacts = artifacts
        self.default = default
        self.pool_size = pool_size
        self.pid = os.getpid()
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._started = False
        self.registry: Registry | None = None
        self.error: str | None = None
        self.load_seconds: float | None = None

    def start(self) -> None:
        """Start loading in a daemon thread; safe to call more than once."""
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._load, name="model-loader", daemon=True).start()

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            registry = Registry.load(self.artifacts, self.default, self.pool_size)
            registry.warm_up()
            self.registry = registry
            self.load_seconds = time.perf_counter() - started
            log.info(
                "networks %s loaded and warmed up in %.3f s (pid %d)",
                ", ".join(registry.names), self.load_seconds, self.pid,
            )
        except Exception as error:  # noqa: BLE001 - reported by /readyz, never raised into a request
            self.error = f"{type(error).__name__}: {error}"
            log.exception("loading the networks from %s failed", self.artifacts)
        finally:
            self._ready.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self.registry is not None

    def get(self, timeout: float) -> Registry:
        """The loaded registry, waiting up to ``timeout`` seconds for it."""
        self.start()
        self._ready.wait(timeout)
        if self.registry is None:
            raise ModelNotReady(self.error or "the networks are still loading")
        return self.registry


def get_holder(app: Flask | None = None) -> ModelHolder:
    """This process's holder for ``app`` (default: the current app)."""
    app = app or current_app._get_current_object()
    return per_process(
        app,
        "digit_lens_model",
        lambda: ModelHolder(
            Path(app.config["ARTIFACTS_DIR"]), str(app.config["DEFAULT_MODEL"]), int(app.config["INTERPRETERS"])
        ),
    )


def get_registry() -> Registry:
    """The loaded networks for the current app, waiting for them to finish loading."""
    return get_holder().get(timeout=float(current_app.config["MODEL_WAIT_SECONDS"]))


def get_network(name: str | None = None) -> Network:
    """The network called ``name`` (default: the default one) for the current app.

    Raises:
        ModelNotReady: the networks have not loaded (yet).
        UnknownModel: no served network has this name.
    """
    return get_registry().get(name)
