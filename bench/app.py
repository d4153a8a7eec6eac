"""The app `make bench` serves: the real one, plus the endpoints /api/predict is compared against.

Run by gunicorn as ``bench.app:create_bench_app()``; never part of the product.

- /bench/trivial reads the body and answers a tiny JSON: the server's ceiling.
- /bench/tf-predict and /bench/tf-features are the previous serving path, in
  the same worker: the same preprocessing and answer as /api/predict and
  /api/features, but the network run by TensorFlow (the Keras model, traced
  once as concrete ``tf.function``s). The TensorFlow baseline of the LiteRT path.
- /bench/naive is the approach of the classic tutorials: a plain greyscale
  resize of the whole canvas to 28x28 and Keras's ``model.predict``.
- /bench/predict-before is /api/predict as it was before issue 18 (webapp/api.py
  at 10ef3c7): with ``?compare=1`` it ran the chosen network, then every
  network again, and the not-a-digit gate once per reading, so for the five
  shipped networks 6 network passes and 6 gate runs (12 forward passes, the
  gate being a network too) where /api/predict?compare=1 now runs 5 and 1.
  The same networks, gate and answer; only the old order of work.

TensorFlow is imported by the first request to a TensorFlow endpoint, so the
worker's memory and start-up before that are the LiteRT server's own.
"""

from __future__ import annotations

import io
import threading

import numpy as np
from flask import Blueprint, Flask, Response, jsonify, request
from PIL import Image

from webapp import create_app, features
from webapp.api import (
    admitted,
    compare_requested,
    compressed,
    loaded_registry,
    prepared_image,
    reading,
    requested_network,
)
from webapp.artifacts import KERAS_FILE

bp = Blueprint("bench", __name__, url_prefix="/bench")

_lock = threading.Lock()
_tensorflow_models: dict = {}


class TensorFlowNetwork:
    """The previous server's model holder: a Keras model with traced prediction and feature extraction."""

    def __init__(self, path):
        import keras
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        self.model = keras.saving.load_model(path, compile=False)
        size = int(self.model.inputs[0].shape[1])
        extractor = keras.Model(self.model.inputs[0], [layer.output for layer in self.model.layers])
        signature = [tf.TensorSpec(shape=(1, size, size, 1), dtype=tf.float32)]
        self._predict = tf.function(
            lambda images: self.model(images, training=False), input_signature=signature
        ).get_concrete_function()
        self._features = tf.function(
            lambda images: extractor(images, training=False), input_signature=signature
        ).get_concrete_function()
        self._to_tensor = tf.constant
        self.size = size

    def _batch(self, image: np.ndarray):
        return self._to_tensor(image.reshape(1, self.size, self.size, 1).astype(np.float32))

    def predict(self, image: np.ndarray) -> np.ndarray:
        return self._predict(self._batch(image)).numpy()[0]

    def features(self, image: np.ndarray) -> list[np.ndarray]:
        return [output.numpy()[0] for output in self._features(self._batch(image))]


def tensorflow_network(network) -> TensorFlowNetwork:
    """This worker's TensorFlow copy of ``network`` (from its model.keras), loaded on first use."""
    with _lock:
        if network.name not in _tensorflow_models:
            _tensorflow_models[network.name] = TensorFlowNetwork(network.folder / KERAS_FILE)
        return _tensorflow_models[network.name]


@bp.post("/trivial")
def trivial() -> Response:
    """Read the body and answer at once."""
    return jsonify(size=len(request.get_data()))


@bp.post("/tf-predict")
@admitted
def tf_predict() -> Response:
    """/api/predict with the network run by TensorFlow."""
    network = requested_network()
    prepared = prepared_image()
    image = network.input_image(prepared.image)
    probabilities = None if prepared.empty else tensorflow_network(network).predict(image)
    return jsonify(reading(prepared, network, probabilities))


@bp.post("/tf-features")
@admitted
def tf_features() -> Response:
    """/api/features with the network run by TensorFlow."""
    network = requested_network()
    prepared = prepared_image()
    outputs = tensorflow_network(network).features(network.input_image(prepared.image))
    answer = reading(prepared, network, None if prepared.empty else outputs[-1])
    answer["layers"] = features.encode_layers(network.layers, outputs)
    return compressed(jsonify(answer))


@bp.post("/naive")
def naive() -> Response:
    """Resize the canvas to 28x28 and call model.predict, as tutorials do."""
    model = tensorflow_network(requested_network()).model
    image = Image.open(io.BytesIO(request.get_data())).convert("L").resize((28, 28))
    pixels = 255.0 - np.asarray(image, dtype=np.float32)  # dark ink on light -> MNIST polarity
    probabilities = model.predict(pixels.reshape(1, 28, 28, 1), verbose=0)[0]
    return jsonify(digit=int(probabilities.argmax()), probabilities=probabilities.tolist())


def comparison_before(prepared) -> list[dict]:
    """``comparison()`` as it was at 10ef3c7: each network predicts again, and each reading runs the gate."""
    registry = loaded_registry()
    answers = []
    for name in registry.names:
        network = registry.get(name)
        probabilities = None if prepared.empty else network.predict(prepared.image)
        answer = reading(prepared, network, probabilities, registry.gate)
        answers.append({"model": name, **{key: answer[key] for key in ("digit", "confidence", "reason")}})
    return answers


@bp.post("/predict-before")
@admitted
def predict_before() -> Response:
    """/api/predict as it was at 10ef3c7, the baseline of ?compare=1 running each network and the gate once."""
    network = requested_network()
    compare = compare_requested()
    prepared = prepared_image()
    probabilities = None if prepared.empty else network.predict(prepared.image)
    answer = reading(prepared, network, probabilities, loaded_registry().gate)
    if compare:
        answer["compare"] = comparison_before(prepared)
    return jsonify(answer)


def create_bench_app() -> Flask:
    """The real app with the comparison endpoints added."""
    app = create_app()
    app.register_blueprint(bp)
    return app
