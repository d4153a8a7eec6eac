"""An operator's folder of networks, built as an operator builds one: the shipped networks and the gate (linked)
beside small Keras models imported with ``python -m train.import``.

    .venv/bin/python -m tests.operator_folder /tmp/operator-networks
    DIGIT_LENS_ARTIFACTS_DIR=/tmp/operator-networks nice -n 10 .venv/bin/python -m pytest -q \\
        tests/test_backward.py tests/test_shipped_model.py tests/test_explain.py tests/test_attribution.py ...

The tests parametrised over the served folder (tests/conftest.py's SERVED_NETWORKS) then run on the imported
networks too. Three small models, each trained for one short epoch so that they read digits as a learner's own
network would: one with batch normalization (its gamma and beta trained), one with stride 2 and "same" padding on
an even input, and one without a Rescaling layer (trained on pixels divided by 255, imported with
``--input-scale 1``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

TRAIN_IMAGES = 6000  # one short epoch: enough to read most digits, a few seconds each
DRAWN_COUNT = 200  # drawn digits for the card (the command's default is train/drawn.py's 2,000)


def batch_norm_network():
    """Conv, BatchNormalization, ReLU, pool, twice; a dense layer and a folded softmax. Momentum 0.9: the moving
    statistics settle within one short epoch (at 0.99 they would not, and the network read half the digits)."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Rescaling(1 / 255, name="rescale"),
            layers.Conv2D(8, 3, name="conv1"),
            layers.BatchNormalization(momentum=0.9, name="norm1"),
            layers.ReLU(name="relu1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(8, 3, name="conv2"),
            layers.BatchNormalization(momentum=0.9, name="norm2"),
            layers.Activation("relu", name="relu2"),
            layers.MaxPooling2D(2, name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dense(10, activation="softmax", name="dense"),
        ]
    )


def strided_same_network():
    """Stride 2 and "same" padding on an even input (TensorFlow pads 0 rows before and 1 after)."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Rescaling(1 / 255, name="rescale"),
            layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv1"),
            layers.Conv2D(8, 4, strides=2, padding="same", activation="relu", name="conv2"),
            layers.Flatten(name="flatten"),
            layers.Dense(10, name="logits"),  # ten scores, no softmax: the import adds one
        ]
    )


def unscaled_network():
    """No Rescaling layer: trained on pixels divided by 255 by the script, as many are."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            layers.Flatten(name="flatten"),
            layers.Dense(32, activation="relu", name="hidden"),
            layers.Dense(10, activation="softmax", name="dense"),
        ]
    )


# name -> (builder, input scale the script trained with)
NETWORKS = {
    "own-batchnorm": (batch_norm_network, 255),
    "own-strided": (strided_same_network, 255),
    "own-unscaled": (unscaled_network, 1),
}


def save_models(folder: Path) -> dict[str, Path]:
    """Each network trained for one short epoch and saved as a .keras file, as a learner's script would."""
    import keras

    from train import data

    mnist = data.load()
    keras.utils.set_random_seed(0)
    images, labels = mnist.train_images[:TRAIN_IMAGES], mnist.train_labels[:TRAIN_IMAGES]
    files = {}
    for name, (build, scale) in NETWORKS.items():
        model = build()
        from_logits = model.layers[-1].get_config().get("activation") == "linear"
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits))
        x = images.astype(np.float32) / (255 if scale == 1 else 1)
        model.fit(x if name == "own-unscaled" else x[..., None], labels, epochs=1, batch_size=64, verbose=0)
        files[name] = folder / f"{name}.keras"
        model.save(files[name])
    return files


def build(folder: Path) -> list[str]:
    """Fill ``folder`` (created, empty or missing) with the shipped networks and the gate (symlinks) and the
    imported ones; returns the imported names."""
    from webapp.artifacts import ARTIFACTS, discover
    from webapp.gate import GATE_FOLDER

    folder.mkdir(parents=True, exist_ok=True)
    for name in [*discover(ARTIFACTS), GATE_FOLDER]:
        if not (folder / name).exists():
            (folder / name).symlink_to(ARTIFACTS / name)
    with tempfile.TemporaryDirectory() as scratch:
        files = save_models(Path(scratch))
        for name, file in files.items():
            # All 10,000 test images, as an operator's import checks them (the shipped-model tests read the card).
            command = [sys.executable, "-m", "train.import", str(file), "--name", name, "--artifacts", str(folder),
                       "--drawn-count", str(DRAWN_COUNT), "--replace"]
            if NETWORKS[name][1] == 1:
                command += ["--input-scale", "1"]
            subprocess.run(command, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    return list(files)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/operator-networks").resolve()
    print("imported", ", ".join(build(target)), "into", target)
