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
import logging
import os
import queue
import tempfile
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
    # A zero field and one copy: np.pad's general machinery costs ~30 us a call, this ~2 us (a ?compare=1
    # request centres every 32x32 network's input twice).
    field = np.zeros((*images.shape[:-2], size, size), dtype=images.dtype)
    field[..., border : size - border, border : size - border] = images
    return field


# Weight arrays up to this size are kept in memory once read. Larger ones (the dense layers' kernels, 0.4-4.5
# MiB each, more than all the rest) are memory-mapped from an uncompressed copy for each call instead.
KEPT_WEIGHT_BYTES = 256 * 1024

log = logging.getLogger(__name__)


def weights_cache_folder() -> Path | None:
    """The folder of the large weights' uncompressed copies, or None when there is no safe one.

    ``DIGIT_LENS_CACHE_DIR``, else ``digit-lens-<uid>`` in the system's temporary folder. It must be this
    user's and writable by no one else (a copy there is served as the network's weights), so a folder
    made by someone else in a shared /tmp is not used: the weights are then read from the archive.
    """
    folder = Path(os.environ.get("DIGIT_LENS_CACHE_DIR") or Path(tempfile.gettempdir()) / f"digit-lens-{os.getuid()}")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = folder.stat()
    except OSError:
        return None
    if status.st_uid != os.getuid() or status.st_mode & 0o022:
        return None
    return folder


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


_MADV_DONTNEED = 4  # Linux's madvise advice: drop these pages from the process (read again from the file if used)


def release_mapped_pages(path: Path) -> None:
    """Take this process's resident pages of the read-only mappings of file ``path`` out of its memory.

    LiteRT maps a .tflite file and reads every weight from it while it builds an interpreter; XNNPACK
    (the delegate it applies by default) packs the convolution and dense weights into its own buffers,
    and runs from those. The file's pages read at build time then stay in the worker's resident memory,
    almost all of them unused: 9 MiB per worker for the five networks and the gate (/proc/self/smaps), of
    which readings and every layer's maps read 0.4-0.6 MiB again, once. Here they leave the process (``madvise``
    MADV_DONTNEED): they stay in the system's file cache, and a page something does read again comes
    back from it. Where this is not Linux, or the call fails, nothing happens.
    """
    import ctypes

    target = os.path.realpath(path)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        madvise = libc.madvise
        madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        with open("/proc/self/maps") as maps:
            lines = maps.read().splitlines()
    except (OSError, AttributeError):
        return
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5] == target and "w" not in fields[1]:
            start, end = (int(address, 16) for address in fields[0].split("-"))
            madvise(start, end - start, _MADV_DONTNEED)


class InterpreterPool:
    """Single-threaded LiteRT interpreters of one ``.tflite`` file, lent to one thread at a time.

    Interpreters are made on demand, at most ``size`` of them; a thread that
    finds all of them busy waits for one. ``outputs`` maps each signature
    output name to its tensor, read once here, so a call matches outputs by
    name and never by position (the converter orders them its own way).
    """

    def __init__(self, path: Path, size: int):
        self._path = Path(path)
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

    def _make(self):
        """A new interpreter, ready to run; the file's pages it read while being built are given back."""
        interpreter = Interpreter(model_path=str(self._path), num_threads=1)
        interpreter.allocate_tensors()
        release_mapped_pages(self._path)
        return interpreter

    def _new(self):
        interpreter = self._make()
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
    _predict: InterpreterPool | None = field(default=None, repr=False)
    _weights: dict[str, dict[str, np.ndarray | None]] | None = field(default=None, repr=False)
    _shapes: dict[tuple[str, str], tuple] = field(default_factory=dict, repr=False)  # of the large arrays' copies
    _copy_failed: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, folder: Path, pool_size: int = 1, own_reading: bool = False) -> Network:
        """Read a network folder written by ``python -m train.export`` and make its first interpreters
        (``own_reading``: readings from predict.tflite rather than layers.tflite; see below)."""
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
        # graph. With ``own_reading`` a reading runs predict.tflite, the same graph with one output, and the
        # same probabilities bit for bit (tests/test_models.py): LiteRT then keeps no layer's output, and
        # digit-lens costs 0.14 ms a call against 0.23 ms (keras-mnist 0.34 against 0.53), for a second
        # interpreter and XNNPACK's packed copy of the weights in memory (all five networks: +12 MiB a
        # worker, over the 100 MiB an operator is promised; the registry asks it for the default network).
        network._features = InterpreterPool(folder / LAYERS_FILE, pool_size)
        if own_reading:
            network._predict = InterpreterPool(folder / PREDICT_FILE, pool_size)
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
        if self._predict is None:
            return self._features.run(self._batch(image), [self.layers[-1].name])[0]
        (output,) = self._predict.outputs
        return self._predict.run(self._batch(image), [output])[0]

    def features(self, image: np.ndarray) -> list[np.ndarray]:
        """Every layer's float32 output (batch axis removed), in model order, the input layer first."""
        batch = self._batch(image)
        names = [info.name for info in self.layers[1:]]
        return [batch[0], *self._features.run(batch, names)]

    def kernels(self) -> dict[str, dict[str, np.ndarray]]:
        """Every layer's weights as exact float32: {layer: {"kernel": ..., "bias": ...}}, in model order.

        The arrays are read-only (they are shared by every request). The small ones are kept after the
        first call. The large ones (the dense layers' kernels) are not kept in the worker's memory: the
        first call writes each one's bytes, uncompressed, to a file in ``weights_cache_folder()``, and
        each call maps that file (about 0.1 ms, where inflating it from weights.npz again took 8-22 ms).
        Its pages are the system's file cache, shared by the workers, and leave the worker's resident
        memory when the request's arrays are freed. Without a usable cache folder, they are read from
        weights.npz on each call.
        """
        with self._lock:
            if self._weights is None:
                weights: dict[str, dict[str, np.ndarray | None]] = {}
                with np.load(self.folder / WEIGHTS_FILE) as archive:
                    for key in archive.files:
                        layer, _, variable = key.rpartition("/")
                        array = archive[key]
                        if array.nbytes > KEPT_WEIGHT_BYTES:
                            self._copy(layer, variable, array)
                            array = None
                        else:
                            array.flags.writeable = False
                        weights.setdefault(layer, {})[variable] = array
                order = [info.name for info in self.layers]
                self._weights = {name: weights[name] for name in order if name in weights}
            cached = self._weights
        large = {(layer, variable): self._mapped(layer, variable) for layer, variables in cached.items()
                 for variable, array in variables.items() if array is None}
        unmapped = [key for key, array in large.items() if array is None]
        if unmapped:
            with np.load(self.folder / WEIGHTS_FILE) as archive:
                for layer, variable in unmapped:
                    array = archive[f"{layer}/{variable}"]
                    array.flags.writeable = False
                    large[(layer, variable)] = array
                    self._copy(layer, variable, array)  # a copy gone since (a cleaned /tmp): written again
        return {layer: {variable: large[(layer, variable)] if array is None else array
                        for variable, array in variables.items()}
                for layer, variables in cached.items()}

    def _copy_path(self, layer: str, variable: str) -> Path | None:
        folder = weights_cache_folder()
        if folder is None:
            return None
        # The weights file's hash in the name: a changed network never maps an old copy.
        name = hashlib.sha256(f"{self.weights_version}/{layer}/{variable}".encode()).hexdigest()[:32]
        return folder / f"{name}.npy"

    def _copy(self, layer: str, variable: str, array: np.ndarray) -> None:
        """Write ``array`` uncompressed for ``_mapped``, whole or not at all (a temporary file, then renamed)."""
        path = None if self._copy_failed else self._copy_path(layer, variable)
        if path is None:
            return
        self._shapes[(layer, variable)] = (array.shape, array.dtype)
        part = None
        try:
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as file:
                part = Path(file.name)
                np.save(file, array, allow_pickle=False)
            os.replace(part, path)
        except OSError as error:
            self._copy_failed = True  # a full disk, say: say so once, and read the archive from now on
            log.warning("could not write %s (%s): %s's large weights are read from %s on each call",
                        path, error, self.name, WEIGHTS_FILE)
            if part is not None:
                part.unlink(missing_ok=True)

    def _mapped(self, layer: str, variable: str) -> np.ndarray | None:
        """The large array mapped read-only from its copy; None when the copy is missing or not what was written."""
        path, expected = self._copy_path(layer, variable), self._shapes.get((layer, variable))
        if path is None or expected is None:
            return None
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError):
            return None
        if (array.shape, array.dtype) != expected:
            return None
        return array.view(np.ndarray)  # a plain read-only array; the mapping lives as long as it does

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
