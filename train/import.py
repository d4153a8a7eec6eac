"""python -m train.import: serve a teacher's or learner's own Keras model beside the shipped networks.

    python -m train.import my_model.keras --name my-net [--title "My CNN"] [--input-scale 1]
    make import FILE=my_model.keras NAME=my-net

What it does, in order; the first step that fails stops it, with a message
that says what was found and what was expected, and nothing is written:

1. Reads the file's ``config.json`` (a ``.keras`` file is a zip) *before*
   Keras builds anything, and checks every layer: a layer must be one of
   ``SUPPORTED_KINDS``, from Keras itself (no custom class), not a nested model.
2. Loads the file with Keras's safe mode (``safe_mode=True``: a Lambda layer's
   Python code is refused; a model file can carry code).
3. Checks the network is a chain of those layers from an input of 28x28x1,
   32x32x1, or 28x28 (no channel axis), to ten scores or ten probabilities,
   and each layer's settings (any stride and padding; no dilation, groups,
   leaky ReLU, ...).
4. Rebuilds it as the shipped networks are built (``rebuild``): one operation
   per layer, so that the pages show and explain each step. A convolution or
   dense layer with a folded activation (``Conv2D(32, 3, activation="relu")``,
   as seed 004 writes it) becomes the layer, linear, followed by the
   activation as a layer of its own (``conv2d`` then ``conv2d_relu``): the
   learner sees the sum before the activation (negative values included) and
   after it, each cell's arithmetic is one rule, and the learning page's
   gradients pass through each step as the book's layers do. A network that
   ends in ten scores gets a softmax layer; one trained on pixels divided by
   255 without a Rescaling layer (``--input-scale 1``) gets one in front. The
   rebuilt network must give the file's own probabilities (within 1e-5) on
   the test images.
5. Measures MNIST accuracy with Keras, and warns when the other input scale
   reads far more digits (the scale is probably wrong).
6. Exports it like the shipped networks (``train/export.py``: LiteRT files,
   layers.json, weights, checked against Keras on MNIST's 10,000 test images),
   measures its accuracy on the project's generated drawings
   (``train/drawn.py``), writes its card, and installs the folder atomically:
   everything is written to a hidden folder beside the network folders
   (``.import-<name>-*``, which the server ignores), then renamed into place.

The destination is the folder of networks the server reads:
``$DIGIT_LENS_ARTIFACTS_DIR`` when set (an operator's folder outside the
repository, see docs/import.md), else ``webapp/artifacts``. The server serves
the new network after a restart.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from webapp import artifacts as runtime

# The kinds of layer the app can show, explain and differentiate.
SUPPORTED_KINDS = (
    "InputLayer", "Conv2D", "Dense", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "Flatten",
    "Dropout", "Rescaling", "ReLU", "Activation", "Softmax", "BatchNormalization", "ZeroPadding2D",
)
# A Reshape is accepted in one place only: right after a 28x28 input, adding the channel axis.
CHANNEL_RESHAPE = "Reshape"
ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")
INPUT_SIZES = (28, 32)
NUM_CLASSES = 10
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
# The rebuilt network must read as the file does.
REBUILD_TOLERANCE = 1e-5
# The scale check: Keras's accuracy on this many test images at both scales.
SCALE_CHECK_IMAGES = 1000
# Below this MNIST accuracy a network is read as barely reading digits.
LOW_ACCURACY = 0.5


class ImportRefused(ValueError):
    """The file cannot be served: the message says why and what would be accepted."""


def supported_text() -> str:
    kinds = [kind for kind in SUPPORTED_KINDS if kind != "InputLayer"]
    return (
        f"supported kinds: {', '.join(kinds)} (Activation and folded activations: {', '.join(ACTIVATIONS)}); "
        "a Reshape only right after a 28x28 input, to add the channel axis"
    )


def default_artifacts() -> Path:
    """The folder of networks the server reads: ``$DIGIT_LENS_ARTIFACTS_DIR``, else the repository's."""
    configured = os.environ.get("DIGIT_LENS_ARTIFACTS_DIR")
    return Path(configured) if configured else runtime.ARTIFACTS


# --- 1. The file, before Keras reads it ------------------------------------------------------


def read_config(path: Path) -> dict:
    """The model's ``config.json`` from a ``.keras`` file.

    Raises:
        ImportRefused: the file is missing or is not a Keras 3 model file.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportRefused(f"{path}: no such file")
    expected = "a Keras model file saved with model.save('<name>.keras') (Keras 3: a zip holding config.json)"
    if path.suffix == ".h5":
        raise ImportRefused(f"{path} is a legacy HDF5 file; load it in Keras and save it again as .keras; expected {expected}")
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, UnicodeDecodeError) as error:
        raise ImportRefused(f"{path} is not a Keras model file ({error}); expected {expected}") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise ImportRefused(f"{path} is not a Keras model file (its config.json names no model); expected {expected}")
    return config


def check_config(config: dict, path: Path) -> None:
    """Refuse, before anything is built, a model whose layers are not all supported Keras layers.

    Raises:
        ImportRefused: naming the first layer that is not, its kind, and the supported kinds.
    """
    model_kind = config.get("class_name")
    if model_kind not in ("Sequential", "Functional", "Model") or not str(config.get("module", "")).startswith("keras"):
        raise ImportRefused(
            f"{path}: the model is a {model_kind} ({config.get('module')}), not a Keras Sequential or functional "
            "model; a subclassed model carries its own code; build it with keras.Sequential or keras.Model(inputs, outputs)"
        )
    for entry in config.get("config", {}).get("layers", []):
        kind = entry.get("class_name")
        name = entry.get("config", {}).get("name", "?")
        if kind in ("Sequential", "Functional", "Model"):
            raise ImportRefused(
                f"{path}: layer {name!r} is a nested model ({kind}); put its layers in the outer model; {supported_text()}"
            )
        if entry.get("module") != "keras.layers" or entry.get("registered_name") not in (None, kind):
            raise ImportRefused(
                f"{path}: layer {name!r} of kind {kind} is custom code ({entry.get('registered_name') or entry.get('module')}), "
                f"which is never loaded; {supported_text()}"
            )
        if kind not in SUPPORTED_KINDS and kind != CHANNEL_RESHAPE:
            raise ImportRefused(f"{path}: layer {name!r} is a {kind}, which digit-lens cannot explain; {supported_text()}")


def load_keras(path: Path):
    """The model, loaded with Keras's safe mode (no Lambda code, no custom objects).

    Raises:
        ImportRefused: Keras refused the file.
    """
    import keras

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # noqa: BLE001 - Keras raises many kinds; each is a refusal with its reason
        raise ImportRefused(f"{path}: Keras (safe mode) could not load it: {type(error).__name__}: {error}") from None


# --- 2. The network: a chain of supported layers --------------------------------------------


@dataclass
class Step:
    """One layer of the file and what the rebuilt network makes of it."""

    layer: object  # the file's keras layer
    kind: str
    activation: str = "linear"  # a folded activation, split off into its own layer


@dataclass
class Plan:
    """The checked layers, the input, and what the rebuild changes (said on the card)."""

    input_size: int
    channel_axis: bool  # False: the file's input is 28x28
    steps: list[Step]
    ends_in_softmax: bool
    changes: list[str] = field(default_factory=list)


def _activation_name(layer) -> str:
    activation = getattr(layer, "activation", None)
    if activation is None:
        return "linear"
    return getattr(activation, "__name__", str(activation))


def _refuse(layer, kind: str, why: str) -> ImportRefused:
    return ImportRefused(f"layer {layer.name!r} ({kind}): {why}; {supported_text()}")


def _check_layer(layer, kind: str, input_shape: tuple) -> None:
    """Refuse a supported kind with settings the app does not explain."""
    config = layer.get_config()
    if config.get("data_format", "channels_last") != "channels_last":
        raise _refuse(layer, kind, "channels_first data is not supported; use channels_last (Keras's default)")
    dtype = getattr(layer, "compute_dtype", "float32")
    if dtype != "float32":
        raise _refuse(layer, kind, f"it computes in {dtype}; only float32 networks are served")
    if kind in ("Conv2D", "Dense") and _activation_name(layer) not in ACTIVATIONS:
        raise _refuse(layer, kind, f"its activation {_activation_name(layer)!r} is not one of {', '.join(ACTIVATIONS)}")
    if kind == "Conv2D":
        if tuple(config.get("dilation_rate", (1, 1))) != (1, 1) or config.get("groups", 1) != 1:
            raise _refuse(layer, kind, "dilated or grouped convolutions are not supported (dilation_rate 1, groups 1)")
        if config.get("padding") not in ("valid", "same"):
            raise _refuse(layer, kind, f"padding {config.get('padding')!r}: only 'valid' and 'same'")
    elif kind == "Dense":
        if len(input_shape) != 1:
            raise _refuse(layer, kind, f"its input has shape {list(input_shape)}; put a Flatten before a Dense layer")
    elif kind in ("MaxPooling2D", "AveragePooling2D"):
        if config.get("padding") not in ("valid", "same"):
            raise _refuse(layer, kind, f"padding {config.get('padding')!r}: only 'valid' and 'same'")
    elif kind == "GlobalAveragePooling2D":
        if config.get("keepdims"):
            raise _refuse(layer, kind, "keepdims=True is not supported; the default (False) gives one number per channel")
    elif kind == "ReLU":
        if config.get("max_value") is not None or config.get("negative_slope", 0) or config.get("threshold", 0):
            raise _refuse(layer, kind, "only the plain ReLU max(0, x) (no max_value, negative_slope or threshold)")
    elif kind == "Activation":
        if _activation_name(layer) not in ACTIVATIONS:
            raise _refuse(layer, kind, f"activation {_activation_name(layer)!r} is not one of {', '.join(ACTIVATIONS)}")
        if _activation_name(layer) == "softmax" and len(input_shape) != 1:
            raise _refuse(layer, kind, "a softmax over a map is not supported; only over the last layer's scores")
    elif kind == "Softmax":
        if config.get("axis", -1) not in (-1, len(input_shape)) or len(input_shape) != 1:
            raise _refuse(layer, kind, "only a softmax over the last layer's scores (axis -1, after a Dense layer)")
    elif kind == "BatchNormalization":
        if config.get("axis") not in (-1, len(input_shape), [-1], [len(input_shape)]):
            raise _refuse(layer, kind, f"axis {config.get('axis')}: only the last axis (channels, or units)")
        if config.get("renorm") or config.get("synchronized"):
            raise _refuse(layer, kind, "renorm and synchronized batch normalisation are not supported")
    elif kind == "Rescaling":
        if np.ndim(config.get("scale", 1.0)) or np.ndim(config.get("offset", 0.0)):
            raise _refuse(layer, kind, "only one scale and one offset for every pixel")
    elif kind == "ZeroPadding2D":
        pass


def plan(model, input_scale: float = 255) -> Plan:
    """Check the network layer by layer and say how it will be rebuilt.

    Raises:
        ImportRefused: naming the first layer that cannot be served and why.
    """
    import keras

    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ImportRefused(f"the model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; one of each")
    shape = tuple(model.inputs[0].shape[1:])
    if shape in ((size, size, 1) for size in INPUT_SIZES):
        channel_axis = True
    elif shape in ((size, size) for size in INPUT_SIZES):
        channel_axis = False
    else:
        raise ImportRefused(
            f"the input has shape {list(shape)}; expected one grey image of 28x28x1 or 32x32x1 (or 28x28, no channel axis)"
        )
    size = shape[0]
    changes = []
    if input_scale == 1:
        changes.append("--input-scale 1: a Rescaling layer (1/255) in front, so that the served 0..255 pixels "
                       "reach the network as the 0..1 it was trained on")
    if not channel_axis:
        changes.append(f"the input gains its channel axis: {size}x{size} becomes {size}x{size}x1")

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    previous = model.inputs[0]
    steps: list[Step] = []
    channel_less = not channel_axis  # the current tensor is the 28x28 input, before its channel axis
    for index, layer in enumerate(layers):
        kind = type(layer).__name__
        # A Sequential model is a chain by construction (and its loaded layers' tensors are not the graph's).
        if not isinstance(model, keras.Sequential) and layer.input is not previous:
            raise _refuse(layer, kind, "the network is not a chain (each layer taking the previous layer's output); "
                          "branches and skip connections are not supported")
        input_shape = tuple(previous.shape[1:]) if index == 0 else previous_shape
        previous = layer.output
        output_shape = tuple(layer.output.shape[1:])
        previous_shape = output_shape
        if kind == CHANNEL_RESHAPE:
            if channel_axis or steps or output_shape != (size, size, 1):
                raise _refuse(layer, kind, "a Reshape is accepted only right after a 28x28 input, to (28, 28, 1)")
            changes.append(f"{layer.name} (Reshape to {size}x{size}x1) is the input's channel axis, so it is left out")
            channel_less = False
            continue
        if kind not in SUPPORTED_KINDS:
            raise _refuse(layer, kind, "digit-lens cannot explain this kind of layer")
        if channel_less and kind not in ("Flatten", "Rescaling", "Dropout", "ReLU", "Activation"):
            raise _refuse(layer, kind, f"it works on the {size}x{size} input without a channel axis; "
                          "add Reshape((28, 28, 1)) first or flatten it")
        _check_layer(layer, kind, input_shape)
        activation = _activation_name(layer) if kind in ("Conv2D", "Dense") else "linear"
        if activation != "linear":
            changes.append(f"{layer.name}'s folded {activation} becomes its own layer, {layer.name}_{activation}")
        if kind == "Flatten":
            channel_less = False
        is_last = index == len(layers) - 1
        softmax = kind == "Softmax" or activation == "softmax" or (
            kind == "Activation" and _activation_name(layer) == "softmax")
        if softmax and not is_last:
            raise _refuse(layer, kind, "a softmax must be the network's last layer")
        steps.append(Step(layer, kind, activation))
    final = tuple(model.outputs[0].shape[1:])
    if final != (NUM_CLASSES,):
        raise ImportRefused(f"the network's output has shape {list(final)}; expected the ten digits' scores or probabilities")
    ends_in_softmax = bool(steps) and (
        steps[-1].kind == "Softmax" or steps[-1].activation == "softmax"
        or (steps[-1].kind == "Activation" and _activation_name(steps[-1].layer) == "softmax")
    )
    if not ends_in_softmax:
        changes.append("the network ends in ten scores (logits): a Softmax layer turns them into probabilities")
    elif steps[-1].kind == "Activation":
        changes.append(f"{steps[-1].layer.name} (Activation softmax) is served as a Softmax layer of that name")
    return Plan(size, channel_axis, steps, ends_in_softmax, changes)


# --- 3. The rebuild: one operation per layer -------------------------------------------------


def rebuild(plan_: Plan, input_scale: float = 255):
    """The network as the shipped ones are built: input (HxWx1), one operation per layer, softmax last."""
    import keras
    from keras import layers

    used: set[str] = {step.layer.name for step in plan_.steps}

    def fresh(name: str) -> str:
        candidate, number = name, 2
        while candidate in used:
            candidate, number = f"{name}_{number}", number + 1
        used.add(candidate)
        return candidate

    size = plan_.input_size
    inputs = keras.Input(shape=(size, size, 1), name=fresh("input"))
    x = inputs
    if input_scale == 1:
        x = layers.Rescaling(1.0 / 255, name=fresh("rescale"))(x)
    for step in plan_.steps:
        layer, kind = step.layer, step.kind
        config = layer.get_config()
        if kind == "Activation" and _activation_name(layer) == "softmax":
            copy = layers.Softmax(name=layer.name)
        else:
            if step.activation != "linear":
                config["activation"] = "linear"
            copy = type(layer).from_config(config)
        x = copy(x)
        copy.set_weights(layer.get_weights())
        if step.activation == "relu":
            x = layers.ReLU(name=fresh(f"{layer.name}_relu"))(x)
        elif step.activation == "softmax":
            x = layers.Softmax(name=fresh(f"{layer.name}_softmax"))(x)
        elif step.activation != "linear":
            x = layers.Activation(step.activation, name=fresh(f"{layer.name}_{step.activation}"))(x)
    if not plan_.ends_in_softmax:
        x = layers.Softmax(name=fresh("softmax"))(x)
    return keras.Model(inputs, x, name=fresh("imported"))


def file_probabilities(model, images: np.ndarray, plan_: Plan, divisor: float) -> np.ndarray:
    """The file's own network on uint8 MNIST-format images, pixels divided by ``divisor``, as probabilities
    (a softmax applied when the file ends in scores, as the rebuilt network does)."""
    from webapp.preprocess import fit_to_input

    batch = fit_to_input(images, plan_.input_size).astype(np.float32) / np.float32(divisor)
    if plan_.channel_axis:
        batch = batch[..., None]
    outputs = np.asarray(model.predict(batch, batch_size=500, verbose=0))
    if plan_.ends_in_softmax:
        return outputs
    shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def served_probabilities(model, images: np.ndarray, size: int) -> np.ndarray:
    """The rebuilt network on uint8 MNIST-format images, as the server feeds them (0..255)."""
    from webapp.preprocess import fit_to_input

    batch = fit_to_input(images, size).astype(np.float32)[..., None]
    return np.asarray(model.predict(batch, batch_size=500, verbose=0))


# --- 4. Import: check, rebuild, measure, export, install -------------------------------------


@dataclass
class Imported:
    folder: Path
    card: dict
    warnings: list[str]


def scale_warnings(original, plan_: Plan, images: np.ndarray, labels: np.ndarray, input_scale: float,
                   chosen_probabilities: np.ndarray | None = None) -> tuple[list[str], dict]:
    """Warnings when MNIST says the input scale is wrong (or that the network barely reads digits).

    Accuracy alone can miss it: a ReLU network fed 0..255 where it learned 0..1
    computes nearly the same scores times 255, so it reads nearly the same
    digits, but with a certainty it never had (its mistakes at probability ~0
    for the right digit). Its cross-entropy error on the test digits shows
    that, so both are compared at both scales. ``chosen_probabilities``: the file's probabilities on ``images`` at
    the chosen scale, when already computed.
    """
    images, labels = images[:SCALE_CHECK_IMAGES], labels[:SCALE_CHECK_IMAGES]
    chosen_divisor, other_divisor = (255.0, 1.0) if input_scale == 1 else (1.0, 255.0)

    def measure(divisor: float, probabilities: np.ndarray | None = None) -> tuple[float, float]:
        if probabilities is None:
            probabilities = file_probabilities(original, images, plan_, divisor)
        probabilities = probabilities.astype(np.float64)
        accuracy = float((probabilities.argmax(axis=1) == labels).mean())
        loss = float(-np.log(np.maximum(probabilities[np.arange(len(labels)), labels], 1e-30)).mean())
        return accuracy, loss

    known = None if chosen_probabilities is None else chosen_probabilities[:SCALE_CHECK_IMAGES]
    (chosen, chosen_loss), (other, other_loss) = measure(chosen_divisor, known), measure(other_divisor)
    checked = {"images": len(labels), "as_imported": {"accuracy": round(chosen, 4), "loss": round(chosen_loss, 4)},
               "other_scale": {"accuracy": round(other, 4), "loss": round(other_loss, 4)}}
    warnings = []
    option, meaning = ("without --input-scale", "0..255 pixels") if input_scale == 1 else ("with --input-scale 1", "pixels divided by 255")
    if other >= chosen + 0.2:
        warnings.append(
            f"the input scale looks wrong: the network reads {chosen:.1%} of {len(labels)} MNIST test digits as "
            f"imported, but {other:.1%} {option}; it was probably trained on {meaning}: import it again {option}"
        )
    elif other >= chosen - 0.01 and other_loss * 3 < chosen_loss:
        warnings.append(
            f"the input scale looks wrong: the network reads {chosen:.1%} of {len(labels)} MNIST test digits as "
            f"imported and {other:.1%} {option}, but its cross-entropy error on them is {chosen_loss:.3g} as imported "
            f"against {other_loss:.3g} {option}: as imported it is far too sure of itself (its scores are about 255 "
            f"times too large or too small); it was probably trained on {meaning}: import it again {option}"
        )
    elif chosen < LOW_ACCURACY:
        warnings.append(
            f"the network reads only {chosen:.1%} of {len(labels)} MNIST test digits (either input scale); it is served "
            "all the same (an untrained network is a fine subject for the learning page), but check that it was "
            "trained on MNIST-format digits: white ink (255) on black (0), centred in 28x28"
        )
    return warnings, checked


def import_network(
    path: Path,
    name: str,
    artifacts: Path,
    images: np.ndarray,
    labels: np.ndarray,
    title: str | None = None,
    input_scale: float = 255,
    drawn=None,
    replace: bool = False,
    command: str | None = None,
    verbose: bool = True,
) -> Imported:
    """Check, rebuild, export and install a Keras model file as network ``name`` in ``artifacts``.

    Args:
        path: the ``.keras`` file.
        name: the network's name (its folder, and ``?model=<name>``).
        artifacts: the folder of network folders the server reads.
        images, labels: MNIST test images (uint8 (N, 28, 28)) and labels: the export's parity check and the card's accuracy.
        title: the card's title (default: the file's name).
        input_scale: 255 when the network takes 0..255 pixels (its own Rescaling, or none needed); 1 when it was
            trained on pixels divided by 255 without a Rescaling layer.
        drawn: ``train.drawn.DrawnSet`` for the card's drawn-digit accuracy (None: not measured).
        replace: replace a network folder of that name.

    Raises:
        ImportRefused: the file, a layer, the name or the export was refused; nothing was written.
    """
    from train.export import ExportError, export_model, layer_records
    from train.fit import card_test_section, confusion_and_per_digit

    path, artifacts = Path(path), Path(artifacts)
    if not NAME_PATTERN.fullmatch(name or ""):
        raise ImportRefused(f"the name {name!r} is not usable: 1-40 lowercase letters, digits and hyphens, "
                            "starting with a letter or digit (it goes in URLs: ?model=<name>)")
    if input_scale not in (1, 255):
        raise ImportRefused(f"--input-scale {input_scale:g}: 255 (pixels 0..255, the default) or 1 (pixels divided by 255)")
    target = artifacts / name
    if target.exists() and not replace:
        raise ImportRefused(f"{target} exists; choose another --name, or --replace it")
    config = read_config(path)
    check_config(config, path)
    original = load_keras(path)
    plan_ = plan(original, input_scale)
    rebuilt = rebuild(plan_, input_scale)

    # The rebuilt network reads as the file does (on the images the parity check uses).
    expected = file_probabilities(original, images, plan_, 255.0 if input_scale == 1 else 1.0)
    served = served_probabilities(rebuilt, images, plan_.input_size)
    difference = float(np.abs(served - expected).max())
    if difference > REBUILD_TOLERANCE:
        raise ImportRefused(f"the rebuilt network's probabilities differ from the file's by up to {difference:.3g} "
                            f"(> {REBUILD_TOLERANCE}); please report this file")
    warnings, scale_check = scale_warnings(original, plan_, images, labels, input_scale, expected)

    predicted = served.argmax(axis=1)
    confusion, per_digit = confusion_and_per_digit(labels.astype(np.int64), predicted)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    card = {
        "name": name,
        "title": title or path.stem,
        "source": f"imported from {path.name} (python -m train.import)",
        "imported": {
            "file": path.name,
            "sha256": digest,
            "keras_name": original.name,
            "input_scale": input_scale,
            "changes": plan_.changes,
            "scale_check": scale_check,
            "warnings": warnings,
            "command": command or f"python -m train.import {path.name} --name {name}",
            "seconds": None,
        },
        "architecture": [{key: value for key, value in record.items() if key != "settings"} | record["settings"]
                         for record in layer_records(rebuilt)],
        "parameters": {
            "total": int(rebuilt.count_params()),
            "trainable": int(sum(np.prod(variable.shape) for variable in rebuilt.trainable_weights)),
        },
        "input_size": plan_.input_size,
        "input": f"uint8 {plan_.input_size}x{plan_.input_size}x1, ink = 255, MNIST format",
        "test": card_test_section(len(labels), float((predicted == labels).mean()), per_digit, confusion),
    }
    started = time.time()
    artifacts.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=artifacts, prefix=f".import-{name}-"))
    try:
        folder = staging / name
        rebuilt_path = staging / runtime.KERAS_FILE
        rebuilt.save(rebuilt_path)
        try:
            card = export_model(rebuilt, folder, images, labels, card=card, verbose=False)
        except ExportError as error:
            raise ImportRefused(str(error)) from None
        os.replace(rebuilt_path, folder / runtime.KERAS_FILE)
        if drawn is not None:
            from train.drawn import drawn_figures

            card["drawn"] = drawn_figures(served_probabilities(rebuilt, drawn.images, plan_.input_size), drawn)
        card["imported"]["seconds"] = round(time.time() - started, 1)
        card["versions"] = _versions()
        card["platform"] = platform.platform()
        (folder / runtime.CARD_FILE).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
        _install(folder, target, replace)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if verbose:
        drawn_text = f", {card['drawn']['accuracy']:.2%} of {card['drawn']['images']} drawn digits" if "drawn" in card else ""
        print(f"{name}: imported into {target}: {card['test']['accuracy']:.2%} of {card['test']['images']} MNIST test "
              f"digits{drawn_text}; LiteRT parity: same digit {card['litert']['same_digit']}/{card['litert']['images']}, "
              f"max probability difference {card['litert']['max_probability_difference']:.2g}")
        for change in plan_.changes:
            print(f"  {change}")
    return Imported(target, card, warnings)


def _install(folder: Path, target: Path, replace: bool) -> None:
    """Rename the finished folder into place (one rename; a replaced folder is moved aside first, then removed)."""
    if target.exists():
        if not replace:
            raise ImportRefused(f"{target} appeared while importing; nothing was installed")
        aside = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".replaced-{target.name}-"))
        os.rename(target, aside / target.name)
        os.rename(folder, target)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.rename(folder, target)


def _versions() -> dict:
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__}


# The prepared drawn set, kept between imports (rendering 2,000 drawings is most of a minute of CPU).
DRAWN_CACHE = Path(__file__).resolve().parent.parent / "build" / "drawn"


def cached_drawn_set(count: int, cache: Path = DRAWN_CACHE):
    """``train.drawn.prepare_drawn_set(count)``, from ``cache`` when an earlier import prepared the same set.

    The cache file is named by the SHA-256 of everything the set depends on: the count and seed, the drawing
    and preprocessing code, and the versions of numpy and Pillow that render it. A cache that cannot be
    written (a read-only checkout) only costs the time.
    """
    import PIL

    from train import drawn, drawings
    from webapp import preprocess

    key = hashlib.sha256()
    for part in (str(count), str(drawn.DRAWN_SEED), np.__version__, PIL.__version__):
        key.update(part.encode() + b"\0")
    for module in (drawings, preprocess, drawn):
        key.update(Path(module.__file__).read_bytes())
    path = cache / f"drawn-{count}-{key.hexdigest()[:16]}.npz"
    if path.is_file():
        with np.load(path) as stored:
            return drawn.DrawnSet(stored["images"], stored["labels"], stored["empty"], str(stored["description"]))
    prepared = drawn.prepare_drawn_set(count)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        partial = cache / f".{path.name}.{os.getpid()}.npz"
        np.savez(partial, images=prepared.images, labels=prepared.labels, empty=prepared.empty,
                 description=np.array(prepared.description))
        os.replace(partial, path)
    except OSError:
        pass
    return prepared


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.import", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="the Keras model file (.keras)")
    parser.add_argument("--name", required=True, help="the network's name: lowercase letters, digits, hyphens")
    parser.add_argument("--title", default=None, help="its title on the pages (default: the file's name)")
    parser.add_argument("--input-scale", type=float, default=255, choices=(1, 255),
                        help="1: the network was trained on pixels divided by 255 and has no Rescaling layer; "
                        "255 (default): it takes 0..255 pixels (its own Rescaling layer, if any, divides them)")
    parser.add_argument("--artifacts", type=Path, default=None,
                        help="the folder of networks (default: $DIGIT_LENS_ARTIFACTS_DIR, else webapp/artifacts)")
    parser.add_argument("--replace", action="store_true", help="replace a network of that name")
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST IDX files (default $DIGIT_LENS_DATA)")
    parser.add_argument("--test-images", type=int, default=None, help="check on only this many test images (default all 10,000)")
    parser.add_argument("--drawn-count", type=int, default=None, help="drawn digits for the card (default train/drawn.py's)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from train import data, drawn

    try:
        mnist = data.load(args.data_dir)
    except data.DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    count = args.test_images or len(mnist.test_images)
    command = " ".join(["python -m train.import", *(argv if argv is not None else sys.argv[1:])])
    try:
        # Refuse a bad file before the drawn set is rendered (tens of seconds).
        check_config(read_config(args.file), args.file)
        drawn_set = cached_drawn_set(args.drawn_count or drawn.DRAWN_COUNT)
        result = import_network(
            args.file, args.name, args.artifacts or default_artifacts(), mnist.test_images[:count],
            mnist.test_labels[:count], title=args.title, input_scale=args.input_scale, drawn=drawn_set,
            replace=args.replace, command=command,
        )
    except ImportRefused as error:
        print(f"error: {error}. Nothing was written.", file=sys.stderr)
        return 2
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    artifacts = args.artifacts or default_artifacts()
    if runtime.DEFAULT_MODEL not in runtime.discover(artifacts):
        print(f"note: {artifacts} holds no {runtime.DEFAULT_MODEL}, the server's default network: copy the shipped "
              f"networks there first (cp -a webapp/artifacts/. {artifacts}/), or set DIGIT_LENS_DEFAULT_MODEL={args.name}",
              file=sys.stderr)
    print(f"Restart the server to serve it (make run), then open /?model={args.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
