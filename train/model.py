"""The CNN: LeNet's shape, conv -> ReLU -> max-pool twice, then dense layers.

Layer names are defined here once; the API and the layers page read them
from the model. ReLU is a layer of its own after each convolution so that the
layers page can show a convolution's raw output and what ReLU keeps of it.
"""

from __future__ import annotations

import keras
from keras import layers

IMAGE_SIZE = 28
NUM_CLASSES = 10

CONV1_FILTERS = 32
CONV2_FILTERS = 32
KERNEL_SIZE = 5
DENSE_UNITS = 256
DROPOUT_RATE = 0.5


def build_model(
    conv1_filters: int = CONV1_FILTERS,
    conv2_filters: int = CONV2_FILTERS,
    dense_units: int = DENSE_UNITS,
    dropout_rate: float = DROPOUT_RATE,
) -> keras.Model:
    """Build the uncompiled digit classifier.

    The model takes uint8-valued 28x28x1 images (ink = 255) and answers the
    ten class probabilities; scaling to [0, 1] happens inside it, so training
    and serving feed the same raw pixels.
    """
    inputs = keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 1), name="input")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    x = layers.Conv2D(conv1_filters, KERNEL_SIZE, padding="same", name="conv1")(x)
    x = layers.ReLU(name="relu1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(conv2_filters, KERNEL_SIZE, padding="same", name="conv2")(x)
    x = layers.ReLU(name="relu2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, name="dense1")(x)
    x = layers.ReLU(name="relu3")(x)
    x = layers.Dropout(dropout_rate, name="dropout")(x)
    x = layers.Dense(NUM_CLASSES, name="logits")(x)
    outputs = layers.Softmax(name="softmax")(x)
    return keras.Model(inputs, outputs, name="digit_lens_cnn")
