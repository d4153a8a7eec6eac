"""Keeping a network's checkpoints while it trains, and writing them for serving (format: webapp/checkpoints.py).

``Snapshots`` is a Keras callback: it copies the weights at step 0 (before the
first batch), after ``EARLY_STEPS`` batches, and at the end of every epoch.
Once training is over and the served (final) weights are known,
``save_checkpoints`` encodes each snapshot against them, measures the MNIST
test accuracy of each checkpoint's *decoded* weights (what the server will
run), and writes ``checkpoints/<name>.npz`` and ``checkpoints.json``. The
checkpoints are copies taken while training, so they change nothing about
the training itself, and with the same seed a second run writes the same files.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from webapp import checkpoints as stored

# The first batches, where most of the change happens (an epoch is 469-1016 batches here).
EARLY_STEPS = (10, 50, 200)
TEST_BATCH = 1000


@dataclass
class Snapshot:
    name: str
    step: int  # batches trained so far
    epoch: float  # epochs trained so far (step / batches per epoch)
    weights: dict[str, np.ndarray]  # float32, "<layer>/<variable>"


def layer_weights(model: keras.Model) -> dict[str, np.ndarray]:
    """Every weight of every layer as float32, keyed ``"<layer>/<variable>"`` as weights.npz keys them."""
    return {
        f"{layer.name}/{variable.name.split('/')[-1]}": np.array(variable.numpy(), dtype=np.float32)
        for layer in model.layers
        for variable in layer.weights
    }


def set_layer_weights(model: keras.Model, weights: dict[str, np.ndarray]) -> None:
    for layer in model.layers:
        for variable in layer.weights:
            variable.assign(weights[f"{layer.name}/{variable.name.split('/')[-1]}"])


class Snapshots(keras.callbacks.Callback):
    """Copies of the weights at step 0, after each of ``early_steps`` batches, and after every epoch."""

    def __init__(self, early_steps: tuple[int, ...] = EARLY_STEPS) -> None:
        super().__init__()
        self.early_steps = set(early_steps)
        self.snapshots: list[Snapshot] = []
        self.step = 0
        self.steps_per_epoch = 1

    def _take(self, name: str, epoch: float) -> None:
        self.snapshots.append(Snapshot(name, self.step, round(epoch, 4), layer_weights(self.model)))

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.steps_per_epoch = int(self.params.get("steps") or 1)
        self._take("step-0", 0.0)

    # At the start of a batch rather than at the end of the one before: a callback with a batch-end hook
    # makes Keras wait for every step's logs (no asynchronous dispatch), which made training several
    # times slower; a batch-begin hook does not, and the weights it copies are those after ``step`` batches.
    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self.step in self.early_steps and self.step < self.steps_per_epoch:
            self._take(f"step-{self.step}", self.step / self.steps_per_epoch)
        self.step += 1

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._take(f"epoch-{epoch + 1}", float(epoch + 1))


def _confusion(labels: np.ndarray, predicted: np.ndarray) -> list[list[int]]:
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    return confusion.tolist()


def save_checkpoints(
    folder: Path,
    model: keras.Model,
    snapshots: list[Snapshot],
    final_epoch: int,
    test_inputs: np.ndarray,
    test_labels: np.ndarray,
) -> dict:
    """Write ``folder``'s checkpoints: each snapshot encoded against ``model``'s (the served) weights.

    Args:
        folder: the network folder (``webapp/artifacts/<name>/``).
        model: the served network; its weights are the "final" checkpoint.
        snapshots: ``Snapshots.snapshots``, in training order.
        final_epoch: the epoch whose weights are served (the last one; digit-lens: its best
            validation epoch). That epoch's snapshot is the final network: it gets no file.
        test_inputs, test_labels: MNIST's test set as the network takes it.

    Returns:
        The manifest written to ``checkpoints.json``.
    """
    folder = Path(folder)
    final = layer_weights(model)
    evaluator = keras.models.clone_model(model)
    target = folder / stored.CHECKPOINTS_FOLDER
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)

    def measured(weights: dict[str, np.ndarray]) -> tuple[float, np.ndarray]:
        set_layer_weights(evaluator, weights)
        predicted = evaluator.predict(test_inputs, batch_size=TEST_BATCH, verbose=0).argmax(axis=1)
        return float((predicted == test_labels).mean()), predicted

    entries = []
    predictions: dict[str, str] = {}  # the digit read for each test image, per checkpoint
    for snapshot in snapshots:
        entry = {"name": snapshot.name, "step": snapshot.step, "epoch": snapshot.epoch}
        if snapshot.name == f"epoch-{final_epoch}":
            entry["same_as"] = stored.FINAL
            weights = final
            if any(not np.array_equal(weights[key], snapshot.weights[key]) for key in final):
                raise ValueError(f"{folder.name}: the served weights are not those of epoch {final_epoch}")
        else:
            arrays = stored.encode(snapshot.weights, final)
            path = target / f"{snapshot.name}.npz"
            stored.write_npz(path, arrays)
            entry["file"] = f"{stored.CHECKPOINTS_FOLDER}/{path.name}"
            entry["bytes"] = path.stat().st_size
            weights = stored.decode(stored.read_npz(path), final)
        accuracy, predicted = measured(weights)
        entry["accuracy"] = round(accuracy, 5)
        entry["confusion"] = _confusion(test_labels, predicted)
        predictions[snapshot.name] = "".join(str(int(digit)) for digit in predicted)
        entries.append(entry)
        print(f"{folder.name}: checkpoint {snapshot.name} (step {snapshot.step}): test accuracy {accuracy:.4f}", flush=True)

    final_snapshot = next(entry for entry in entries if entry.get("same_as") == stored.FINAL)
    entries.append({**{key: value for key, value in final_snapshot.items() if key not in ("name", "same_as")},
                    "name": stored.FINAL})
    manifest = {
        "format": stored.FORMAT,
        "encoding": f"per tensor: integers on a grid of 1/{stored.LEVELS} of its largest magnitude, the tensor "
        "itself or its difference from the final network (webapp/checkpoints.py)",
        "early_steps": sorted(EARLY_STEPS),
        "test_images": int(len(test_labels)),
        "final_epoch": final_epoch,
        "bytes": sum(entry.get("bytes", 0) for entry in entries),
        "checkpoints": entries,
    }
    predictions[stored.FINAL] = predictions[final_snapshot["name"]]
    (folder / stored.MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n")
    (target / stored.PREDICTIONS_FILE).write_text(json.dumps(predictions, indent=0) + "\n")
    return manifest
