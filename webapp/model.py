"""One exported network, run by LiteRT from pooled interpreters: its layers, weights and card.

The server never imports TensorFlow or Keras. A network is a folder written
by ``python -m train.export`` (its files: ``webapp/artifacts.py``); the list
of served networks and the not-a-digit gate are ``webapp/registry.py``'s.
A LiteRT ``Interpreter`` is not thread-safe, so each network keeps a small
pool of interpreters per process, each single-threaded: a request borrows
one for the duration of a call. ``fit_to_input`` adapts a 28x28 drawing to a
network's input size, in training (``train/``) and in serving alike.
"""

from __future__ import annotations

import functools
import hashlib
import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from webapp.artifacts import (  # noqa: F401 - the folder's layout, re-exported for train/ and tests
    ARTIFACTS,
    CARD_FILE,
    KERAS_FILE,
    LAYERS_FILE,
    LAYERS_JSON,
    PREDICT_FILE,
    SERVED_FILES,
    WEIGHTS_FILE,
    discover,
    read_card,
)


def fit_to_input(images: np.ndarray, size: int) -> np.ndarray:
    """MNIST-format 28x28 image(s) centred in a size x size field with a zero border.

    LeNet-5 read MNIST's 28x28 digits centred in 32x32, so that strokes near
    the edge still reach a 5x5 filter's centre; the 32x32 networks here do the
    same, in training and in serving, through this one function.

    Args:
        images: uint8 ``(28, 28)`` or a batch ``(N, 28, 28)``.
        size: the field's side, >= 28 with an even border (28 gives the input back).

    Returns:
        The same dtype, ``(size, size)`` or ``(N, size, size)``.
    """
    border, odd = divmod(size - images.shape[-1], 2)
    if border < 0 or odd or images.shape[-1] != images.shape[-2]:
        raise ValueError(f"cannot centre {images.shape[-2]}x{images.shape[-1]} images in {size}x{size}")
    if border == 0:
        return images
    return np.pad(images, [(0, 0)] * (images.ndim - 2) + [(border, border), (border, border)])


# Weight arrays up to this size are kept in memory once read; larger ones are read again when asked for.
KEPT_WEIGHT_BYTES = 256 * 1024


@dataclass(frozen=True)
class LayerInfo:
    name: str
    kind: str  # the Keras class name: InputLayer, Conv2D, ReLU, MaxPooling2D, ...
    shape: tuple[int, ...]  # output shape without the batch axis
    parameters: int
    settings: dict  # filters, kernel_size, strides, padding, pool_size, units, rate, ... when the layer has them
    # Conv and pooling layers: the zeros around the input, [top, bottom, left, right] (TensorFlow's rule).
    padding: tuple[int, int, int, int] | None = None

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
    _features: InterpreterPool | None = field(default=None, repr=False)
    _weights: dict[str, dict[str, np.ndarray | None]] | None = field(default=None, repr=False)
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
                padding=tuple(entry["padding"]) if entry.get("padding") is not None else None,
            )
            for entry in metadata["layers"]
        ]
        network = cls(
            name=folder.name,
            folder=folder,
            card=read_card(folder),
            layers=layers,
            input_size=int(metadata["input_size"]),
            pool_size=pool_size,
        )
        # One interpreter file serves both: a reading takes only the last layer's output from the all-layers
        # graph. predict.tflite (the same network with one output) would be a second model and arena in
        # memory for each network, about the cost of the computation saved (measured in make bench).
        network._features = InterpreterPool(folder / LAYERS_FILE, pool_size)
        expected = {info.name for info in layers[1:]}
        if set(network._features.outputs) != expected:
            raise ValueError(
                f"{folder / LAYERS_FILE} has outputs {sorted(network._features.outputs)}, "
                f"but {LAYERS_JSON} lists {sorted(expected)}; re-run python -m train.export"
            )
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
        return self._features.run(self._batch(image), [self.layers[-1].name])[0]

    def features(self, image: np.ndarray) -> list[np.ndarray]:
        """Every layer's float32 output (batch axis removed), in model order, the input layer first."""
        batch = self._batch(image)
        names = [info.name for info in self.layers[1:]]
        return [batch[0], *self._features.run(batch, names)]

    def kernels(self) -> dict[str, dict[str, np.ndarray]]:
        """Every layer's weights as exact float32: {layer: {"kernel": ..., "bias": ...}}, in model order.

        The small arrays are kept after the first call; the large ones (the dense layers' kernels, 0.4-4.5
        MiB each, more than all the rest) are read from the weights file again on each call and freed with
        the answer, so that a worker does not hold every network's largest matrices for the rare requests
        that need them (explain, attribution, /api/kernels).
        """
        with self._lock:
            if self._weights is None:
                weights: dict[str, dict[str, np.ndarray | None]] = {}
                with np.load(self.folder / WEIGHTS_FILE) as archive:
                    for key in archive.files:
                        layer, _, variable = key.rpartition("/")
                        array = archive[key]
                        weights.setdefault(layer, {})[variable] = array if array.nbytes <= KEPT_WEIGHT_BYTES else None
                order = [info.name for info in self.layers]
                self._weights = {name: weights[name] for name in order if name in weights}
            cached = self._weights
        missing = [(layer, variable) for layer, variables in cached.items()
                   for variable, array in variables.items() if array is None]
        if not missing:
            return {layer: dict(variables) for layer, variables in cached.items()}
        with np.load(self.folder / WEIGHTS_FILE) as archive:
            large = {(layer, variable): archive[f"{layer}/{variable}"] for layer, variable in missing}
        return {layer: {variable: large[(layer, variable)] if array is None else array
                        for variable, array in variables.items()}
                for layer, variables in cached.items()}

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
        """One call of the interpreter, so the first request pays nothing extra."""
        self.predict(np.zeros((self.input_size, self.input_size), dtype=np.uint8))
