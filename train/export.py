"""python -m train.export: turn a trained Keras network into what the server runs (LiteRT), checked first.

For each network folder ``webapp/artifacts/<name>/`` holding a ``model.keras``,
writes beside it (file names in ``webapp/artifacts.py``):

- ``predict.tflite``: float32 LiteRT model, image -> ten probabilities;
- ``layers.tflite``: every layer's output, each named after its layer (the
  server matches them by these signature names, never by position: the
  converter orders outputs its own way, and a ReLU and the Dropout after it
  may share one tensor);
- ``layers.json``: input size, and each layer's name, kind, output shape,
  parameters and settings, in model order; a conv or pooling layer's
  ``padding`` too, [top, bottom, left, right] (TensorFlow's rule for "same");
- ``weights.npz``: every layer's weights as exact float32, ``"<layer>/<variable>"``;
- ``card.json``: the model card, updated with the parity figures
  (``card["litert"]``) and the served test predictions (``card["test"]["predictions"]``).

Before anything is written, the exported files are loaded by the server's own
code (``webapp.model.Network``) and checked against Keras on MNIST's 10,000
test images: every layer's output, and the probabilities and digit of every
image. The export is refused when the probabilities differ by more than
1e-5, any digit differs, or a layer differs by more than 1e-4 of its largest
magnitude (1e-4 for a layer within [-1, 1]).

Conversion uses ``TFLiteConverter.from_keras_model``: ``from_concrete_functions``
silently produces a broken model from a Keras 3 model.

    python -m train.export                  # every network in webapp/artifacts/
    python -m train.export --model lenet    # one
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from webapp import artifacts as layout
from webapp import model as runtime

ARTIFACTS = layout.ARTIFACTS

# What "the same outputs" means (the targets).
PROBABILITY_TOLERANCE = 1e-5
# A layer's outputs may differ by this fraction of its largest magnitude
# (float32 sums in another order; ~1e-7 relative in practice).
LAYER_RELATIVE_TOLERANCE = 1e-4
BATCH_SIZE = 250


class ExportError(RuntimeError):
    """The exported network does not compute what the Keras network computes."""


@dataclass
class Parity:
    """How the LiteRT outputs compare with Keras's on a set of images."""

    images: int
    max_probability_difference: float
    same_digit: int
    layer_max_abs_difference: dict[str, float]
    layer_max_abs_value: dict[str, float]
    predictions: np.ndarray  # the served (LiteRT) digit of every image

    def as_card(self, runtime_version: str, converter: str) -> dict:
        return {
            "runtime": runtime_version,
            "converter": converter,
            "images": self.images,
            "max_probability_difference": float(f"{self.max_probability_difference:.3g}"),
            "same_digit": self.same_digit,
            "max_abs_difference": {name: float(f"{value:.3g}") for name, value in self.layer_max_abs_difference.items()},
            "max_abs_value": {name: float(f"{value:.4g}") for name, value in self.layer_max_abs_value.items()},
        }

    def problems(self) -> list[str]:
        found = []
        if self.max_probability_difference > PROBABILITY_TOLERANCE:
            found.append(f"probabilities differ by up to {self.max_probability_difference:.3g} (> {PROBABILITY_TOLERANCE})")
        if self.same_digit != self.images:
            found.append(f"{self.images - self.same_digit} of {self.images} images get another digit")
        for name, difference in self.layer_max_abs_difference.items():
            allowed = LAYER_RELATIVE_TOLERANCE * max(1.0, self.layer_max_abs_value[name])
            if difference > allowed:
                found.append(f"layer {name} differs by up to {difference:.3g} (> {allowed:.3g})")
        return found


def layer_records(model) -> list[dict]:
    """Each layer's name, kind, output shape, parameters, settings and padding, in model order, the input first."""
    import keras

    records = []
    if not model.layers or not isinstance(model.layers[0], keras.layers.InputLayer):
        # A Sequential model does not list its input layer: describe the input all the same.
        records.append({"name": "input", "kind": "InputLayer", "output_shape": list(model.inputs[0].shape[1:]),
                        "parameters": 0, "settings": {}})
    for layer in model.layers:
        config = layer.get_config()
        settings = {}
        for key in layout.LAYER_SETTINGS:
            if key in config:
                value = config[key]
                settings[key] = list(value) if isinstance(value, tuple) else value
        records.append(
            {
                "name": layer.name,
                "kind": type(layer).__name__,
                "output_shape": [int(size) for size in layer.output.shape[1:]],
                "parameters": int(layer.count_params()),
                "settings": settings,
            }
        )
    return layout.with_geometry(records)


def layer_weights(model) -> dict[str, np.ndarray]:
    """Every weight of every layer as float32, keyed ``"<layer>/<variable>"``."""
    weights = {}
    for layer in model.layers:
        for variable in layer.weights:
            weights[f"{layer.name}/{variable.name.split('/')[-1]}"] = np.asarray(variable.numpy(), dtype=np.float32)
    return weights


def convert(model) -> bytes:
    """A float32 LiteRT flatbuffer of a Keras model (its outputs named by the model's output names)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    return converter.convert()


def layers_model(model):
    """A Keras model answering every layer's output (input layer excluded), keyed by layer name."""
    import keras

    outputs = {layer.name: layer.output for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)}
    return keras.Model(model.inputs[0], outputs, name=f"{model.name}_layers")


def check_parity(model, network: runtime.Network, images: np.ndarray) -> Parity:
    """Run Keras and the exported network (through the server's code) on ``images`` and compare.

    Keras runs once per batch of ``BATCH_SIZE`` images, every layer's output at once (its last layer's is the
    network's probabilities); the exported network runs image by image, as the server runs it (predict.tflite,
    then layers.tflite), and each batch is compared as arrays.

    Args:
        model: the Keras model.
        network: the exported files, loaded by ``webapp.model.Network``.
        images: uint8 (N, 28, 28) MNIST-format images.
    """
    extractor = layers_model(model)
    names = [info.name for info in network.layers]
    # The network's output is its last layer's (a chain); otherwise Keras computes it on its own.
    last = model.layers[-1]
    output_name = last.name if model.outputs[0] is last.output else None
    differences = dict.fromkeys(names, 0.0)
    magnitudes = dict.fromkeys(names, 0.0)
    probability_difference = 0.0
    same = 0
    predictions = np.empty(len(images), dtype=np.uint8)
    for start in range(0, len(images), BATCH_SIZE):
        batch = np.stack([network.input_image(image) for image in images[start : start + BATCH_SIZE]])
        inputs = batch[..., None].astype(np.float32)
        expected_layers = {name: np.asarray(value) for name, value in extractor(inputs, training=False).items()}
        expected_layers[names[0]] = inputs
        expected_probabilities = (
            expected_layers[output_name] if output_name is not None else np.asarray(model(inputs, training=False))
        )
        probabilities = np.stack([network.predict(image) for image in batch])
        served = [network.features(image) for image in batch]
        for position, name in enumerate(names):
            outputs = np.stack([layers[position] for layers in served])
            expected = expected_layers[name]
            if outputs.shape != expected.shape:
                raise ExportError(f"layer {name}: LiteRT shape {outputs.shape[1:]}, Keras shape {expected.shape[1:]}")
            differences[name] = max(differences[name], float(np.abs(outputs - expected).max()))
            magnitudes[name] = max(magnitudes[name], float(np.abs(expected).max()))
        probability_difference = max(
            probability_difference,
            float(np.abs(probabilities - expected_probabilities).max()),
            float(np.abs(np.stack([layers[-1] for layers in served]) - expected_probabilities).max()),
        )
        read = probabilities.argmax(axis=1)
        predictions[start : start + len(batch)] = read
        same += int((read == expected_probabilities.argmax(axis=1)).sum())
    return Parity(len(images), probability_difference, same, differences, magnitudes, predictions)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_model(
    model,
    folder: Path,
    images: np.ndarray,
    labels: np.ndarray | None = None,
    card: dict | None = None,
    verbose: bool = True,
) -> dict:
    """Export a Keras model into ``folder`` after checking the export on ``images``; returns the card written.

    Usable for any single-input image network, served or not (a helper model
    such as a gate can go in a folder whose name starts with ``_``). Nothing
    in ``folder`` changes when the check fails.

    Args:
        model: the Keras model (input: uint8-valued HxWx1 images, H = W = 28 or 32).
        folder: the network folder; its name is the network's name.
        images: uint8 (N, 28, 28) images to check on (MNIST's 10,000 test images for a served network).
        labels: their labels, to record the served accuracy; optional.
        card: the model card to update (default: the folder's card.json, or a new one).

    Raises:
        ExportError: the exported outputs differ from Keras's beyond the tolerances.
    """
    import keras
    import tensorflow as tf
    from ai_edge_litert import __version__ as litert_version

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if card is None:
        card = layout.read_card(folder) if (folder / layout.CARD_FILE).is_file() else {}
    input_shape = [int(size) for size in model.inputs[0].shape[1:]]
    if len(input_shape) != 3 or input_shape[0] != input_shape[1] or input_shape[2] != 1:
        raise ExportError(f"{folder.name}: the input must be HxWx1 with H = W, not {input_shape}")
    records = layer_records(model)

    with tempfile.TemporaryDirectory(dir=folder, prefix=".export-") as staging_name:
        staging = Path(staging_name) / folder.name
        staging.mkdir()
        (staging / layout.PREDICT_FILE).write_bytes(convert(model))
        (staging / layout.LAYERS_FILE).write_bytes(convert(layers_model(model)))
        (staging / layout.LAYERS_JSON).write_text(
            json.dumps({"input_size": input_shape[0], "layers": records}, indent=1) + "\n"
        )
        np.savez_compressed(staging / layout.WEIGHTS_FILE, **layer_weights(model))
        (staging / layout.CARD_FILE).write_text(json.dumps(card))

        network = runtime.Network.load(staging, pool_size=1)
        parity = check_parity(model, network, images)
        problems = parity.problems()
        if problems:
            raise ExportError(f"{folder.name}: the LiteRT export does not match Keras: " + "; ".join(problems))

        card = dict(card)
        card["name"] = folder.name
        card["input_shape"] = input_shape
        card["litert"] = parity.as_card(
            f"ai-edge-litert {litert_version}",
            f"tensorflow {tf.__version__} TFLiteConverter.from_keras_model (keras {keras.__version__})",
        )
        card["litert"]["files"] = {
            name: {"bytes": (staging / name).stat().st_size, "sha256": _sha256(staging / name)}
            for name in (layout.PREDICT_FILE, layout.LAYERS_FILE, layout.LAYERS_JSON, layout.WEIGHTS_FILE)
        }
        test = dict(card.get("test", {}))
        # One character per test image, in MNIST's order: the digit the served network reads.
        test["predictions"] = "".join(str(int(digit)) for digit in parity.predictions)
        if labels is not None:
            test["served_accuracy"] = round(float((parity.predictions == labels).mean()), 5)
        card["test"] = test
        (staging / layout.CARD_FILE).write_text(json.dumps(card, indent=2) + "\n")
        for name in layout.SERVED_FILES:
            os.replace(staging / name, folder / name)
    if verbose:
        worst = max(parity.layer_max_abs_difference.items(), key=lambda item: item[1])
        print(
            f"{folder.name}: exported; on {parity.images} images max probability difference "
            f"{parity.max_probability_difference:.2g}, same digit {parity.same_digit}/{parity.images}, "
            f"largest layer difference {worst[1]:.2g} ({worst[0]})"
        )
    return card


def export_folder(folder: Path, images: np.ndarray, labels: np.ndarray | None = None) -> dict:
    """Export the ``model.keras`` of a network folder (see ``export_model``)."""
    import keras

    model = keras.saving.load_model(Path(folder) / layout.KERAS_FILE, compile=False)
    return export_model(model, folder, images, labels)


def exportable(artifacts: Path = ARTIFACTS) -> list[str]:
    """The served networks' folders of ``artifacts`` that hold a ``model.keras``.

    Helper folders (``_gate``: not a digit reader, its labels are not MNIST's)
    are exported by their own training command, or by naming them with --model.
    """
    return sorted(
        folder.name
        for folder in artifacts.iterdir()
        if not folder.name.startswith(("_", ".")) and (folder / layout.KERAS_FILE).is_file()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.export", description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="network name (folder); repeat for several; default: all")
    parser.add_argument("--artifacts", type=Path, default=ARTIFACTS, help="the folder of network folders")
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST IDX files (default $DIGIT_LENS_DATA)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from train import data

    names = args.model or exportable(args.artifacts)
    missing = [name for name in names if not (args.artifacts / name / layout.KERAS_FILE).is_file()]
    if missing or not names:
        print(f"error: no {layout.KERAS_FILE} for {', '.join(missing) or 'any network'} in {args.artifacts}",
              file=sys.stderr)
        return 2
    try:
        mnist = data.load(args.data_dir)
    except data.DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    failed = 0
    for name in names:
        try:
            export_folder(args.artifacts / name, mnist.test_images, mnist.test_labels)
        except ExportError as error:
            print(f"error: {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
