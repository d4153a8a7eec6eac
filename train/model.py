"""The networks' builders: the project's own CNN and the seeds' networks.

Layer names are defined here once; the API and the layers page read them
from the model. ReLU is a layer of its own after each convolution so that the
layers page can show a convolution's raw output and what ReLU keeps of it, and
the last Dense layer's softmax is a Softmax layer of its own (the logits are
worth seeing). Every network scales its uint8 pixels to [0, 1] itself (a
Rescaling layer), so training and serving feed the same raw pixels. What each
seed network takes from its seed, and what had to be decided, is in
``train/networks.py``.
"""

from __future__ import annotations

import keras
from keras import layers

from train.networks import NETWORKS

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


def _input(size: int) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """A uint8-valued size x size x 1 input and its scaling to [0, 1]."""
    inputs = keras.Input(shape=(size, size, 1), name="input")
    return inputs, layers.Rescaling(1.0 / 255, name="rescale")(inputs)


def build_lenet() -> keras.Model:
    """Seed 000's Keras LeNet: 32x32 input, Conv 6@5x5, pool, Conv 16@5x5, pool, Dense 120, 84, 10."""
    inputs, x = _input(NETWORKS["lenet"].input_size)
    x = layers.Conv2D(6, 5, name="conv1")(x)
    x = layers.ReLU(name="relu1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(16, 5, name="conv2")(x)
    x = layers.ReLU(name="relu2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(120, name="dense1")(x)
    x = layers.ReLU(name="relu3")(x)
    x = layers.Dense(84, name="dense2")(x)
    x = layers.ReLU(name="relu4")(x)
    x = layers.Dense(NUM_CLASSES, name="logits")(x)
    outputs = layers.Softmax(name="softmax")(x)
    return keras.Model(inputs, outputs, name="lenet")


def build_keras_mnist() -> keras.Model:
    """Seed 004's Keras MNIST script: Conv 32@3x3, Conv 64@3x3, pool, dropout, Dense 128, dropout, Dense 10."""
    inputs, x = _input(NETWORKS["keras-mnist"].input_size)
    x = layers.Conv2D(32, 3, name="conv1")(x)
    x = layers.ReLU(name="relu1")(x)
    x = layers.Conv2D(64, 3, name="conv2")(x)
    x = layers.ReLU(name="relu2")(x)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Dropout(0.25, name="dropout1")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, name="dense1")(x)
    x = layers.ReLU(name="relu3")(x)
    x = layers.Dropout(0.5, name="dropout2")(x)
    x = layers.Dense(NUM_CLASSES, name="logits")(x)
    outputs = layers.Softmax(name="softmax")(x)
    return keras.Model(inputs, outputs, name="keras_mnist")


def build_torch_net() -> keras.Model:
    """Seed 002's PyTorch Net for a 1x32x32 digit, with the seed's layer names (conv1, conv2, fc1, fc2)."""
    inputs, x = _input(NETWORKS["torch-net"].input_size)
    x = layers.Conv2D(8, 5, name="conv1")(x)
    x = layers.ReLU(name="relu1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(16, 5, name="conv2")(x)
    x = layers.ReLU(name="relu2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)  # the seed's forward() forgets this
    x = layers.Dense(256, name="fc1")(x)  # the seed's forward() calls it self.fc
    x = layers.ReLU(name="relu3")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    x = layers.Dense(NUM_CLASSES, name="fc2")(x)
    outputs = layers.Softmax(name="softmax")(x)
    return keras.Model(inputs, outputs, name="torch_net")


def build_simple_convnet() -> keras.Model:
    """The book's SimpleConvNet: Conv 30@5x5 (pad 0, stride 1), ReLU, pool 2x2, Affine 100, ReLU, Affine 10.

    Weights start as the book's do (weight_init_std=0.01): normal with standard
    deviation 0.01, biases zero.
    """
    def kernel_init() -> keras.initializers.Initializer:
        return keras.initializers.RandomNormal(stddev=0.01)

    inputs, x = _input(NETWORKS["simple-convnet"].input_size)
    x = layers.Conv2D(30, 5, strides=1, padding="valid", kernel_initializer=kernel_init(), name="conv1")(x)
    x = layers.ReLU(name="relu1")(x)
    x = layers.MaxPooling2D(2, strides=2, name="pool1")(x)
    x = layers.Flatten(name="flatten")(x)  # the book's Affine reshapes its input itself
    x = layers.Dense(100, kernel_initializer=kernel_init(), name="affine1")(x)
    x = layers.ReLU(name="relu2")(x)
    x = layers.Dense(NUM_CLASSES, kernel_initializer=kernel_init(), name="affine2")(x)
    outputs = layers.Softmax(name="softmax")(x)
    return keras.Model(inputs, outputs, name="simple_convnet")


BUILDERS = {
    "digit-lens": build_model,
    "lenet": build_lenet,
    "keras-mnist": build_keras_mnist,
    "torch-net": build_torch_net,
    "simple-convnet": build_simple_convnet,
}


def build(name: str) -> keras.Model:
    """Build the network called ``name`` (see ``train.networks.NETWORKS``), uncompiled."""
    if name not in BUILDERS:
        raise KeyError(f"unknown network {name!r}; known: {', '.join(BUILDERS)}")
    return BUILDERS[name]()
