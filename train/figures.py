"""The model card's figures: confusion matrix and learning curves, as PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no screen on a server

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save_confusion_matrix(confusion: np.ndarray, path: Path) -> None:
    """Write the test-set confusion matrix (rows true, columns predicted) with counts."""
    figure, axes = plt.subplots(figsize=(6.4, 5.6), dpi=110)
    # Log scale, or the diagonal's ~1000s would wash out the few mistakes.
    image = axes.imshow(np.log1p(confusion), cmap="Blues")
    for true in range(confusion.shape[0]):
        for predicted in range(confusion.shape[1]):
            count = int(confusion[true, predicted])
            if count:
                colour = "white" if true == predicted else "black"
                axes.text(predicted, true, str(count), ha="center", va="center", fontsize=7, color=colour)
    digits = range(confusion.shape[0])
    axes.set_xticks(digits)
    axes.set_yticks(digits)
    axes.set_xlabel("predicted digit")
    axes.set_ylabel("true digit")
    errors = int(confusion.sum() - np.trace(confusion))
    axes.set_title(f"MNIST test set: {errors} errors in {int(confusion.sum())}")
    figure.colorbar(image, ax=axes, label="log(1 + count)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def save_learning_curve(
    history: dict[str, list[float]],
    path: Path,
    training_label: str = "training (augmented)",
    validation_label: str = "validation",
) -> None:
    """Write loss and accuracy per epoch: training, and the held-out set (``val_*``)."""
    epochs = np.arange(1, len(history["loss"]) + 1)
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=110)
    loss_axes.plot(epochs, history["loss"], label=training_label)
    loss_axes.plot(epochs, history["val_loss"], label=validation_label)
    loss_axes.set_xlabel("epoch")
    loss_axes.set_ylabel("loss")
    loss_axes.set_yscale("log")
    loss_axes.legend()
    accuracy_axes.plot(epochs, history["accuracy"], label=training_label)
    accuracy_axes.plot(epochs, history["val_accuracy"], label=validation_label)
    accuracy_axes.set_xlabel("epoch")
    accuracy_axes.set_ylabel("accuracy")
    accuracy_axes.set_ylim(0.97, 1.0)
    accuracy_axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
