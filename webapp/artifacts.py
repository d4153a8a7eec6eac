"""A network folder's layout and its card: what the server and ``train/`` agree on. No LiteRT, no Flask.

Each network is a folder ``webapp/artifacts/<name>/`` written by
``python -m train.export``:

    model.keras      the trained Keras model (training and export only; never served)
    predict.tflite   float32 LiteRT model: image -> ten probabilities
    layers.tflite    float32 LiteRT model: image -> every layer's output, each
                     output named (signature name) after its layer
    layers.json      input size and every layer's name, kind, output shape,
                     parameters, settings (LAYER_SETTINGS) and geometry, in model order
    weights.npz      every weight as exact float32, keyed "<layer>/<variable>"
                     ("conv1/kernel", "conv1/bias", ...)
    card.json        the model card: title, source, accuracy, LiteRT parity figures,
                     the 10,000 test predictions, training record

A folder whose name starts with ``_`` is a helper, never a served network:
``_gate/`` holds the not-a-digit gate (``webapp/registry.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DEFAULT_MODEL = "digit-lens"  # the network served without ?model=

KERAS_FILE = "model.keras"
PREDICT_FILE = "predict.tflite"
LAYERS_FILE = "layers.tflite"
LAYERS_JSON = "layers.json"
WEIGHTS_FILE = "weights.npz"
CARD_FILE = "card.json"
# What the server reads from a network folder; model.keras is for training and export only.
SERVED_FILES = (PREDICT_FILE, LAYERS_FILE, LAYERS_JSON, WEIGHTS_FILE, CARD_FILE)

GATE_FOLDER = "_gate"  # a "_" folder: loaded as a helper, never listed as a served network

# A layer's settings (Keras's get_config() keys) that the pages show and /api/features sends ...
SHOWN_SETTINGS = ("filters", "kernel_size", "strides", "padding", "pool_size", "units", "rate", "scale", "activation")
# ... and all that layers.json keeps: those and what the arithmetic of a cell needs besides (webapp/explain.py).
LAYER_SETTINGS = (*SHOWN_SETTINGS, "offset", "use_bias", "dilation_rate", "epsilon", "center")
# The layer kinds that slide a window over their input: layers.json gives each its "padding".
WINDOWED_KINDS = ("Conv2D", "MaxPooling2D", "AveragePooling2D")


def same_padding(size: int, window: int, stride: int) -> tuple[int, int]:
    """Zeros before and after an input of ``size`` for padding "same" (TensorFlow's rule).

    "same" pads so that the output has ceil(size / stride) cells; when the
    padding is odd, the extra row (or column) goes after the input.
    """
    output = -(-size // stride)
    total = max((output - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def layer_padding(kind: str, settings: dict, input_shape: list[int]) -> list[int] | None:
    """[top, bottom, left, right] zeros a windowed layer (WINDOWED_KINDS) adds around its input; None for others."""
    if kind not in WINDOWED_KINDS:
        return None
    window = settings["kernel_size"] if kind == "Conv2D" else settings["pool_size"]
    strides = settings.get("strides") or window
    if settings.get("padding", "valid") != "same":
        return [0, 0, 0, 0]
    top, bottom = same_padding(int(input_shape[0]), int(window[0]), int(strides[0]))
    left, right = same_padding(int(input_shape[1]), int(window[1]), int(strides[1]))
    return [top, bottom, left, right]


def with_geometry(layers: list[dict]) -> list[dict]:
    """layers.json's layer records (input first, model order) with each windowed layer's "padding" added.

    Its output size is the record's "output_shape"; with the padding it obeys
    out = (in + before + after - window) // stride + 1 on each axis.
    """
    records = []
    for previous, record in zip([None, *layers], layers):
        padding = None if previous is None else layer_padding(record["kind"], record.get("settings", {}), previous["output_shape"])
        records.append({**record, "padding": padding} if padding is not None else dict(record))
    return records


def read_card(folder: Path) -> dict:
    """The model card of the network in ``folder`` (its ``card.json``)."""
    return json.loads((Path(folder) / CARD_FILE).read_text())


def discover(folder: Path = ARTIFACTS) -> list[str]:
    """Names of the networks in ``folder``: every subfolder holding the served files, except ``_``-prefixed ones.

    A folder with a trained ``model.keras`` that was never exported is not a
    served network (yet): ``python -m train.export`` makes it one.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(
        child.name
        for child in folder.iterdir()
        if child.is_dir()
        and not child.name.startswith(("_", "."))
        and all((child / name).is_file() for name in SERVED_FILES)
    )
