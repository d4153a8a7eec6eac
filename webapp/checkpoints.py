"""A network's checkpoints: the network at points of its training, stored small, served on demand.

``python -m train`` keeps the weights of every network at step 0 (untrained),
after a few early steps (the first batches, where most of the change
happens) and at the end of every epoch, and writes them into the network's
folder beside its served files:

    checkpoints.json            the list, in training order, from "step-0" to "final":
                                name, step, epoch, MNIST test accuracy and confusion
                                matrix measured on the weights as stored here
    checkpoints/<name>.npz      one checkpoint's weights (not for "final": that is
                                the served network itself, weights.npz and the LiteRT files)
    checkpoints/predictions.json  each checkpoint's digit for each test image, as measured
                                (the tests check the served checkpoints against it)

Size: all five networks have ~2.2 million weights and ~90 checkpoints between
them; as float32 that would be ~200 MB. Each tensor is stored as integers on
a grid of 1/127 of its own largest magnitude (the precision of 8-bit weights),
either as the difference from the final network's float32 tensor or, when
the checkpoint is far from the final one (step 0), as the tensor itself:
whichever is the smaller range. Late checkpoints differ little from the
final network, so their integers are small and compress well. Decoding is
``base + integers * step`` in float32, the same function in training (where
the accuracy is measured on the decoded weights) and in serving.

Serving: a checkpoint's file is read when a request first asks for it, and
its arrays are kept as stored (the 8-bit integers, a quarter of the float32
weights' bytes) in a small least-recently-used cache bounded by their bytes
(``CheckpointCache``, ``CACHE_BYTES``), so a worker's memory stays bounded
however many checkpoints are touched. Each request decodes the weights it
runs from them (``decode``, the function training measured the accuracy
with, so the answers are those the recorded accuracy counts) and lets them
go when it ends. A checkpoint is run by the numpy forward pass of
``webapp.backward`` from its weights, through ``webapp.admission.offload`` (off the
gevent loop, so the worker's other requests are served meanwhile); the "final" checkpoint is the served
(LiteRT) network itself, so it answers exactly as no checkpoint does.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

MANIFEST_FILE = "checkpoints.json"
CHECKPOINTS_FOLDER = "checkpoints"
FINAL = "final"
PREDICTIONS_FILE = "predictions.json"
LEVELS = 127  # the grid: 1/127 of a tensor's largest magnitude, as symmetric 8-bit weights have
FORMAT = 1

# Keys inside a checkpoint's .npz besides "<layer>/<variable>" (the integers):
STEP_SUFFIX = ":step"  # float32 scalar: the grid step
BASE_SUFFIX = ":base"  # uint8 scalar: 0 = the integers are the tensor, 1 = the difference from the final tensor


class UnknownCheckpoint(LookupError):
    """The network has no checkpoint of this name."""


def _smallest_integers(values: np.ndarray) -> np.ndarray:
    """``values`` (whole numbers) in the narrowest signed integer type that holds them."""
    largest = float(np.abs(values).max()) if values.size else 0.0
    for dtype in (np.int8, np.int16, np.int32):
        if largest <= np.iinfo(dtype).max:
            return values.astype(dtype)
    raise ValueError("a checkpoint tensor is too far from the final one to encode")


def encode(weights: dict[str, np.ndarray], final: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One checkpoint's float32 ``weights`` as the arrays of its .npz (see the module docstring)."""
    arrays: dict[str, np.ndarray] = {}
    for key, tensor in weights.items():
        tensor = np.asarray(tensor, dtype=np.float32)
        largest = float(np.abs(tensor).max()) if tensor.size else 0.0
        step = np.float32(largest / LEVELS) if largest > 0 else np.float32(1.0)
        direct = np.round(tensor / step)
        difference = np.round((tensor - final[key]) / step)
        use_final = float(np.abs(difference).max(initial=0.0)) < float(np.abs(direct).max(initial=0.0))
        arrays[key] = _smallest_integers(difference if use_final else direct)
        arrays[key + STEP_SUFFIX] = np.asarray(step, dtype=np.float32)
        arrays[key + BASE_SUFFIX] = np.asarray(1 if use_final else 0, dtype=np.uint8)
    return arrays


def decode(arrays: dict[str, np.ndarray], final: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The float32 weights a checkpoint's arrays stand for, keyed ``"<layer>/<variable>"``."""
    weights = {}
    for key, integers in arrays.items():
        if key.endswith((STEP_SUFFIX, BASE_SUFFIX)):
            continue
        step = np.float32(arrays[key + STEP_SUFFIX])
        # In place, one float32 array per tensor: each request that runs a checkpoint decodes it.
        values = integers.astype(np.float32)
        values *= step
        if int(arrays[key + BASE_SUFFIX]):
            values += final[key]  # float32 addition: the same numbers as final[key] + values
        weights[key] = values
    return weights


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez_compressed``, but the same arrays always give the same bytes (no timestamps in the zip)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue(), compresslevel=9)
    Path(path).write_bytes(buffer.getvalue())


def read_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def read_manifest(folder: Path) -> dict | None:
    """A network folder's ``checkpoints.json``, or None when it has none."""
    path = Path(folder) / MANIFEST_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def public_entry(entry: dict) -> dict:
    """What ``GET /api/models`` lists of one checkpoint."""
    return {key: entry[key] for key in ("name", "step", "epoch", "accuracy") if key in entry}


class CheckpointCache:
    """Checkpoints' stored arrays, least recently used dropped first, within ``max_bytes``.

    One per process; its size bounds the memory checkpoints can take however
    many of them requests touch. A checkpoint larger than the whole budget is
    still served (decoded for the request) but not kept.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str], tuple[int, object]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[str, str], load):
        """The value cached under ``key``, made by ``load() -> (value, bytes)`` when missing."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key][1]
        value, size = load()
        with self._lock:
            if key not in self._entries and size <= self.max_bytes:
                self._entries[key] = (size, value)
                self._bytes += size
                while self._bytes > self.max_bytes:
                    _, (dropped, _) = self._entries.popitem(last=False)
                    self._bytes -= dropped
        return value


# The stored checkpoints a worker keeps, as 8-bit integers: three of the largest network's
# (keras-mnist, 1.2 MB each), or nine of digit-lens's. A checkpoint not kept is read from its file
# again (a few to 25 ms). Measured in `make loadtest` with every checkpoint touched (docs/checkpoints.md).
CACHE_BYTES = 4 * 1024 * 1024


class CheckpointNetwork:
    """A network at one checkpoint of its training: the served network's interface, run by numpy.

    Layers, input size, card and preprocessing are the served network's; the
    weights are the checkpoint's, and every layer's output comes from
    ``webapp.backward.forward`` (float32, the same arithmetic as the export).
    """

    def __init__(self, base, checkpoint: str, weights: dict[str, dict[str, np.ndarray]]):
        self.base = base
        self.checkpoint = checkpoint
        self._weights = weights

    # The served network's identity and description.
    name = property(lambda self: self.base.name)
    folder = property(lambda self: self.base.folder)
    card = property(lambda self: self.base.card)
    layers = property(lambda self: self.base.layers)
    input_size = property(lambda self: self.base.input_size)
    input_shape = property(lambda self: self.base.input_shape)
    parameters = property(lambda self: self.base.parameters)

    @property
    def weights_version(self) -> str:
        return f"{self.base.weights_version}-{self.checkpoint}"

    def input_image(self, image: np.ndarray) -> np.ndarray:
        return self.base.input_image(image)

    def features(self, image: np.ndarray) -> list[np.ndarray]:
        """Every layer's float32 output (batch axis removed), in model order, the input layer first."""
        from webapp.admission import offload
        from webapp.backward import forward

        batch = self.input_image(image).reshape(1, self.input_size, self.input_size, 1).astype(np.float32)
        # Off the gevent loop (a direct call elsewhere): the worker's other requests go on meanwhile.
        return [output[0] for output in offload(forward, self.layers, self._weights, batch)]

    def predict(self, image: np.ndarray) -> np.ndarray:
        """Ten float32 probabilities for one uint8 image."""
        return self.features(image)[-1]

    def kernels(self) -> dict[str, dict[str, np.ndarray]]:
        """The checkpoint's weights: {layer: {"kernel": ..., "bias": ...}}, in model order."""
        return self._weights


def _by_layer(weights: dict[str, np.ndarray], order: list[str]) -> dict[str, dict[str, np.ndarray]]:
    nested: dict[str, dict[str, np.ndarray]] = {}
    for key, value in weights.items():
        layer, _, variable = key.rpartition("/")
        nested.setdefault(layer, {})[variable] = value
    return {name: nested[name] for name in order if name in nested}


def _flat(kernels: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {f"{layer}/{variable}": value for layer, variables in kernels.items() for variable, value in variables.items()}


class Checkpoints:
    """Every served network's checkpoints: the lists read at start, the weights on first use, in a bounded cache."""

    def __init__(self, networks: dict, max_bytes: int = CACHE_BYTES):
        self.networks = networks
        self.manifests = {name: read_manifest(network.folder) for name, network in networks.items()}
        self.cache = CheckpointCache(max_bytes)

    def listed(self, name: str) -> list[dict]:
        """The checkpoints of network ``name`` as ``GET /api/models`` lists them (empty: none saved)."""
        manifest = self.manifests.get(name)
        return [public_entry(entry) for entry in manifest["checkpoints"]] if manifest else []

    def entry(self, name: str, checkpoint: str) -> dict:
        manifest = self.manifests.get(name)
        for entry in manifest["checkpoints"] if manifest else ():
            if entry["name"] == checkpoint:
                return entry
        raise UnknownCheckpoint(checkpoint)

    def get(self, name: str, checkpoint: str | None):
        """Network ``name`` at ``checkpoint``: the served network itself for None and "final".

        Raises:
            UnknownCheckpoint: the network has no checkpoint of that name.
        """
        network = self.networks[name]
        if checkpoint in (None, FINAL):
            return network
        entry = self.entry(name, checkpoint)
        if entry.get("same_as") == FINAL:
            return network  # the epoch whose weights are served

        from webapp.admission import offload

        def read():
            arrays = read_npz(network.folder / entry["file"])
            return arrays, sum(value.nbytes for value in arrays.values())

        def weights(arrays):
            decoded = decode(arrays, _flat(network.kernels()))
            return _by_layer(decoded, [info.name for info in network.layers])

        # Reading the file (when the cache has dropped it or never had it) and decoding run off the gevent loop.
        arrays = self.cache.get((name, checkpoint), lambda: offload(read))
        return CheckpointNetwork(network, checkpoint, offload(weights, arrays))
