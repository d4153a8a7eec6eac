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
