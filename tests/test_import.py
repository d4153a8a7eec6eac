"""python -m train.import: a Keras model of one's own is checked, rebuilt, exported and served like the shipped ones.

Small models built here, one layer kind after another (every supported kind
appears in one of them), are imported into a folder of their own; then each is
served by the app and every layer's arithmetic is checked against the
network's own values. Files the app cannot explain (a Lambda layer, an LSTM,
something that is not a Keras model) are refused, and nothing is written.
"""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.test_explain import cells_to_check, check_terms_add_up, reported_cell
from webapp import explain
from webapp.model import KERAS_FILE, LAYERS_JSON, Network, discover

importer = importlib.import_module("train.import")

# Few test images: the export's parity check and the card's accuracy run on these (the command uses all 10,000).
TEST_IMAGES = 64


def every_kind_28():
    """A 28x28 input without a channel axis, then every supported kind of a "flatten" network."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(28, 28), name="pixels")
    x = layers.Reshape((28, 28, 1), name="add_channel")(inputs)
    x = layers.Rescaling(1 / 255, name="rescale")(x)
    x = layers.ZeroPadding2D(((1, 2), (0, 1)), name="pad")(x)
    x = layers.Conv2D(4, 3, activation="relu", name="conv1")(x)  # folded: becomes conv1 + conv1_relu
    x = layers.BatchNormalization(name="norm")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(4, 3, padding="same", name="conv2")(x)
    x = layers.Activation("tanh", name="tanh")(x)
    x = layers.AveragePooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    x = layers.Dense(12, activation="sigmoid", name="dense1")(x)
    x = layers.Dense(10, name="logits")(x)
    outputs = layers.Activation("softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs)


def every_kind_32():
    """A 32x32x1 input (a Sequential model), a separate ReLU Activation, BatchNormalization without centre,
    global average pooling, a linear Activation and a folded softmax."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(32, 32, 1)),
            layers.Rescaling(1 / 255, name="rescale"),
            layers.Conv2D(6, 5, strides=2, padding="same", name="conv"),
            layers.ReLU(name="relu"),
            layers.BatchNormalization(center=False, name="norm"),
            layers.Activation("relu", name="act"),
            layers.GlobalAveragePooling2D(name="gap"),
            layers.Activation("linear", name="linear"),
            layers.Dense(10, activation="softmax", name="dense"),
        ]
    )


def strided_same():
    """Stride 2 and "same" padding on an even input: TensorFlow pads 0 rows before and 1 after."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = layers.Conv2D(4, 3, strides=2, padding="same", name="conv1")(x)  # 28 -> 14: padding 0 before, 1 after
    x = layers.ReLU(name="relu1")(x)
    x = layers.Conv2D(4, 4, strides=2, padding="same", name="conv2")(x)  # even kernel: 14 -> 7, padding 1 before, 1 after
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool")(x)  # 7 -> 4
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(10, name="logits")(x)  # ten scores, no softmax: the import adds one
    return keras.Model(inputs, outputs)


def centroid_network(mnist):
    """A 28x28 network trained, in effect, on pixels divided by 255 with no Rescaling layer: each digit's
    score is the drawing's overlap with that digit's mean image (a nearest-mean reader, ~75% on MNIST).
    At 0..255 its sigmoid saturates and it reads nothing."""
    import keras
    from keras import layers

    images = mnist.train_images[:6000].reshape(-1, 784).astype(np.float32) / 255
    means = np.stack([images[mnist.train_labels[:6000] == digit].mean(axis=0) for digit in range(10)], axis=1)
    kernel = means / (means**2).sum(axis=0, keepdims=True) * 4
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            layers.Flatten(name="flatten"),
            layers.Dense(10, activation="sigmoid", name="overlap"),
            layers.Dense(10, name="logits"),
            layers.Softmax(name="probabilities"),  # a Softmax layer of its own, as some scripts write it
        ]
    )
    model.get_layer("overlap").set_weights([kernel, np.full(10, -2.0, np.float32)])
    model.get_layer("logits").set_weights([np.eye(10, dtype=np.float32) * 20, np.zeros(10, np.float32)])
    return model


BUILDERS = {"every-kind-28": every_kind_28, "every-kind-32": every_kind_32, "strided-same": strided_same}


@pytest.fixture(scope="session")
def model_files(tmp_path_factory, mnist) -> dict[str, Path]:
    """Each small model saved as a .keras file, as a learner's script would."""
    import keras

    keras.utils.set_random_seed(0)
    folder = tmp_path_factory.mktemp("keras-files")
    rng = np.random.default_rng(1)
    files = {}
    for name, build in {**BUILDERS, "centroid": lambda: centroid_network(mnist)}.items():
        model = build()
        for layer in model.layers:  # batch statistics unlike the initial 0 and 1, so that each number matters
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.set_weights([rng.uniform(0.5, 1.5, size=variable.shape).astype(np.float32) if "variance" in
                                   variable.name or "gamma" in variable.name else
                                   rng.normal(0, 0.3, size=variable.shape).astype(np.float32) for variable in layer.weights])
        files[name] = folder / f"{name}.keras"
        model.save(files[name])
    return files


@pytest.fixture(scope="session")
def imported(tmp_path_factory, model_files, mnist) -> tuple[Path, dict]:
    """The folder the small models are imported into, and each import's result."""
    artifacts = tmp_path_factory.mktemp("imported")
    images, labels = mnist.test_images[:TEST_IMAGES], mnist.test_labels[:TEST_IMAGES]
    results = {name: importer.import_network(model_files[name], name, artifacts, images, labels, verbose=False)
               for name in BUILDERS}
    results["centroid"] = importer.import_network(
        model_files["centroid"], "centroid", artifacts, images, labels, input_scale=1, title="nearest mean", verbose=False
    )
    return artifacts, results


@pytest.fixture(scope="module")
def drawing_image():
    from train.drawings import random_drawing, render
    from webapp.preprocess import prepare

    return prepare(render(random_drawing(np.random.default_rng(3), 3))).image


def kinds(artifacts: Path, name: str) -> list[tuple[str, str]]:
    return [(layer["name"], layer["kind"]) for layer in json.loads((artifacts / name / LAYERS_JSON).read_text())["layers"]]


def test_every_supported_kind_is_imported_and_served(imported):
    artifacts, results = imported
    assert discover(artifacts) == ["centroid", "every-kind-28", "every-kind-32", "strided-same"]
    served_kinds = {kind for name in discover(artifacts) for _, kind in kinds(artifacts, name)}
    assert served_kinds == set(importer.SUPPORTED_KINDS)
    activations = {json.dumps(layer["settings"].get("activation")) for name in discover(artifacts)
                   for layer in json.loads((artifacts / name / LAYERS_JSON).read_text())["layers"] if layer["kind"] == "Activation"}
    assert activations == {'"relu"', '"sigmoid"', '"tanh"', '"linear"'}
    assert kinds(artifacts, "centroid")[-2:] == [("logits", "Dense"), ("probabilities", "Softmax")]  # the file's own
    # Nothing but the network folders is left (no staging folder).
    assert sorted(path.name for path in artifacts.iterdir()) == discover(artifacts)


def test_a_folded_activation_becomes_a_layer_of_its_own(imported):
    artifacts, results = imported
    assert kinds(artifacts, "every-kind-28") == [
        ("input", "InputLayer"), ("rescale", "Rescaling"), ("pad", "ZeroPadding2D"), ("conv1", "Conv2D"),
        ("conv1_relu", "ReLU"), ("norm", "BatchNormalization"), ("pool1", "MaxPooling2D"), ("conv2", "Conv2D"),
        ("tanh", "Activation"), ("pool2", "AveragePooling2D"), ("flatten", "Flatten"), ("dropout", "Dropout"),
        ("dense1", "Dense"), ("dense1_sigmoid", "Activation"), ("logits", "Dense"), ("probabilities", "Softmax"),
    ]
    assert kinds(artifacts, "every-kind-32")[-2:] == [("dense", "Dense"), ("dense_softmax", "Softmax")]
    # Ten scores at the end: a softmax is added.
    assert kinds(artifacts, "strided-same")[-2:] == [("logits", "Dense"), ("softmax", "Softmax")]
    changes = results["every-kind-28"].card["imported"]["changes"]
    assert any("conv1's folded relu becomes its own layer, conv1_relu" in change for change in changes)
    layers = json.loads((artifacts / "every-kind-28" / LAYERS_JSON).read_text())["layers"]
    assert all(layer["settings"].get("activation", "linear") == "linear" for layer in layers if layer["kind"] in ("Conv2D", "Dense"))


def test_the_card_and_the_export_tell_the_truth(imported, mnist):
    import keras

    from train.export import check_parity

    artifacts, _ = imported
    for name in discover(artifacts):
        network = Network.load(artifacts / name)
        card = network.card
        assert card["name"] == name and card["title"] and card["source"].startswith("imported from")
        assert card["litert"]["images"] == TEST_IMAGES and card["litert"]["same_digit"] == TEST_IMAGES
        assert card["test"]["images"] == TEST_IMAGES and 0 <= card["test"]["accuracy"] <= 1
        assert network.parameters == card["parameters"]["total"]
        model = keras.saving.load_model(artifacts / name / KERAS_FILE, compile=False)
        parity = check_parity(model, network, mnist.test_images[:TEST_IMAGES])
        assert parity.problems() == [] and card["test"]["predictions"] == "".join(map(str, parity.predictions))


def test_every_layer_of_every_imported_network_adds_up(imported, drawing_image):
    artifacts, _ = imported
    rng = np.random.default_rng(0)
    operations = set()
    for name in discover(artifacts):
        network = Network.load(artifacts / name)
        outputs, weights = network.features(drawing_image), network.kernels()
        for position, (layer, output) in enumerate(zip(network.layers, outputs, strict=True)):
            for cell in cells_to_check(layer.shape, output, rng):
                terms = explain.explain_cell(network.layers, outputs, weights, position, cell)
                check_terms_add_up(terms, float(output[cell]))
                if "positions" in terms and position > 0:
                    padding = terms.get("padding", [False] * len(terms["inputs"]))
                    for value, where, pad in zip(terms["inputs"], terms["positions"], padding, strict=True):
                        if not pad:
                            assert value == outputs[position - 1][tuple(where)], (name, layer.name, cell)
                operations.add(terms["operation"])
    assert {"conv", "dense", "relu", "sigmoid", "tanh", "batch-norm", "zero-padding", "global-average-pool",
            "max-pool", "average-pool", "flatten", "dropout", "rescale", "softmax", "input"} <= operations


def test_batch_norm_is_explained_with_its_own_numbers(imported, drawing_image):
    import keras

    artifacts, _ = imported
    network = Network.load(artifacts / "every-kind-28")
    outputs = network.features(drawing_image)
    position = [layer.name for layer in network.layers].index("norm")
    terms = explain.explain_cell(network.layers, outputs, network.kernels(), position, (5, 7, 2))
    norm = keras.saving.load_model(artifacts / "every-kind-28" / KERAS_FILE).get_layer("norm")
    assert terms["mean"] == float(norm.moving_mean.numpy()[2]) and terms["variance"] == float(norm.moving_variance.numpy()[2])
    assert terms["gamma"] == float(norm.gamma.numpy()[2]) and terms["beta"] == float(norm.beta.numpy()[2])
    assert terms["epsilon"] == pytest.approx(norm.epsilon)
    # Without centre (every-kind-32's norm), beta is 0.
    network = Network.load(artifacts / "every-kind-32")
    outputs = network.features(drawing_image)
    position = [layer.name for layer in network.layers].index("norm")
    assert explain.explain_cell(network.layers, outputs, network.kernels(), position, (0, 0, 0))["beta"] == 0.0


def test_stride_2_and_same_padding_on_an_even_input_pad_after(imported, drawing_image):
    artifacts, _ = imported
    network = Network.load(artifacts / "strided-same")
    outputs, weights = network.features(drawing_image), network.kernels()
    shapes = {layer.name: layer.shape for layer in network.layers}
    assert shapes["conv1"] == (14, 14, 4) and shapes["conv2"] == (7, 7, 4) and shapes["pool"] == (4, 4, 4)
    names = [layer.name for layer in network.layers]
    first = explain.explain_cell(network.layers, outputs, weights, names.index("conv1"), (0, 0, 0))
    assert first["window"]["top"] == 0 and not any(first["padding"])  # nothing padded before
    last = explain.explain_cell(network.layers, outputs, weights, names.index("conv1"), (13, 13, 0))
    assert last["window"]["top"] == 26 and sum(last["padding"]) == 5  # one row and one column after
    even = explain.explain_cell(network.layers, outputs, weights, names.index("conv2"), (0, 0, 0))
    assert even["window"]["top"] == -1  # 4x4 kernel, stride 2 on 14: 1 before, 1 after


def test_grad_cam_places_its_cells_through_zero_padding(imported):
    """every-kind-28 pads ((1, 2), (0, 1)) before a 3x3 valid convolution: conv1's cell (i, j) reads padded rows
    i..i+2, input rows i-1..i+1 (centre i), and padded columns j..j+2, input columns j..j+2 (centre j+1)."""
    from webapp import attribution

    artifacts, _ = imported
    layers = Network.load(artifacts / "every-kind-28").layers
    names = [layer.name for layer in layers]
    (row_scale, row_offset), (column_scale, column_offset) = attribution.centres(layers, names.index("conv1"))
    assert (row_scale, row_offset) == (1.0, 0.0)
    assert (column_scale, column_offset) == (1.0, 1.0)
    # After the 2x2 pooling: cell i covers conv1's cells 2i, 2i+1, so input centre 2i + 0.5 (rows), 2i + 1.5 (columns).
    assert attribution.centres(layers, names.index("pool1")) == ((2.0, 0.5), (2.0, 1.5))


def test_input_scale_1_puts_a_rescaling_in_front_and_the_wrong_scale_is_warned_about(imported, model_files, mnist, tmp_path):
    artifacts, results = imported
    assert kinds(artifacts, "centroid")[:3] == [("input", "InputLayer"), ("rescale", "Rescaling"), ("flatten", "Flatten")]
    assert results["centroid"].warnings == []
    assert results["centroid"].card["test"]["accuracy"] >= 0.6
    assert results["centroid"].card["imported"]["input_scale"] == 1
    wrong = importer.import_network(model_files["centroid"], "centroid", tmp_path, mnist.test_images[:TEST_IMAGES],
                                    mnist.test_labels[:TEST_IMAGES], verbose=False)
    (warning,) = wrong.warnings
    assert "input scale looks wrong" in warning and "with --input-scale 1" in warning
    assert wrong.card["test"]["accuracy"] < 0.3  # served all the same: the operator decides


def test_a_relu_network_fed_the_wrong_scale_is_caught_by_its_loss(mnist):
    # Scores about 255 times too large read nearly the same digits, so accuracy alone misses it.
    import keras

    model = centroid_network(mnist)
    overlap = model.get_layer("overlap")
    relu = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(name="flatten"),
                             keras.layers.Dense(10, activation="relu", name="overlap"),
                             keras.layers.Dense(10, activation="softmax", name="logits")])
    relu.get_layer("overlap").set_weights([overlap.get_weights()[0], np.zeros(10, np.float32)])  # no bias: same digits at both scales
    relu.get_layer("logits").set_weights([np.eye(10, dtype=np.float32), np.zeros(10, np.float32)])
    plan_ = importer.plan(relu, input_scale=255)
    warnings, checked = importer.scale_warnings(relu, plan_, mnist.test_images, mnist.test_labels, 255)
    assert checked["as_imported"]["accuracy"] == checked["other_scale"]["accuracy"] > 0.5
    (warning,) = warnings
    assert "cross-entropy error" in warning and "with --input-scale 1" in warning
    assert importer.scale_warnings(relu, importer.plan(relu, 1), mnist.test_images, mnist.test_labels, 1)[0] == []


def test_served_by_the_app_every_layer_explained_over_http(imported):
    from tests.conftest import png_bytes
    from train.drawings import random_drawing, render
    from webapp import create_app

    artifacts, _ = imported
    client = create_app({"TESTING": True, "ARTIFACTS_DIR": str(artifacts), "DEFAULT_MODEL": "every-kind-28"}).test_client()
    models = client.get("/api/models").get_json()
    assert [entry["name"] for entry in models["models"]] == ["every-kind-28", "centroid", "every-kind-32", "strided-same"]
    drawing = render(random_drawing(np.random.default_rng(5), 5))
    rng = np.random.default_rng(2)
    for name in discover(artifacts):
        answer = client.post(f"/api/features?model={name}", data=drawing, content_type="image/png").get_json()
        assert [layer["name"] for layer in answer["layers"]] == [name_ for name_, _ in kinds(artifacts, name)]
        for layer in answer["layers"]:
            cell = tuple(int(rng.integers(size)) for size in layer["shape"])
            at = ",".join(map(str, cell))
            response = client.post(f"/api/explain?model={name}&layer={layer['name']}&at={at}", data=drawing,
                                   content_type="image/png")
            assert response.status_code == 200, (name, layer["name"], response.get_json())
            terms = response.get_json()
            reported, half_step = reported_cell(layer, cell)
            assert abs(terms["value"] - reported) <= half_step + 1e-6, (name, layer["name"])
            check_terms_add_up(terms, terms["value"])
    # Every page and the other model endpoints know it: the chooser, the record, the playground's filters.
    for name in discover(artifacts):
        for page in ("/", "/layers"):
            response = client.get(f"{page}?model={name}")
            assert response.status_code == 200 and f'value="{name}"' in response.get_data(as_text=True), (page, name)
        assert client.get("/playground").status_code == 200  # its filters: /api/models and /api/kernels, below
        record = client.get(f"/record?model={name}")
        assert record.status_code == 200 and name in record.get_data(as_text=True)
        kernels = client.get(f"/api/kernels?model={name}").get_json()
        assert [entry["name"] for entry in kernels["layers"]] == [
            layer for layer, kind in kinds(artifacts, name) if kind == "Conv2D"]
        compare = client.post(f"/api/predict?model={name}&compare=1", data=drawing, content_type="image/png").get_json()
        assert sorted(entry["model"] for entry in compare["compare"]) == discover(artifacts)
        # The attribution maps (/why): every method, on the network's own digit; Grad-CAM needs a convolution.
        for method in ("occlusion", "saliency", "gradient-x-input", "grad-cam", "integrated-gradients"):
            response = client.post(f"/api/attribution?model={name}&method={method}", data=drawing, content_type="image/png")
            if method == "grad-cam" and "Conv2D" not in {kind for _, kind in kinds(artifacts, name)}:
                assert response.status_code == 400 and response.get_json()["error"]["code"] == "no-convolution", name
                continue
            assert response.status_code == 200, (name, method, response.get_json())
            answer = response.get_json()
            assert answer["model"] == name and answer["method"] == method
            attributions = np.asarray(answer["map"], dtype=float)
            assert np.isfinite(attributions).all(), (name, method)
            if method in ("saliency", "gradient-x-input", "integrated-gradients"):  # one number per input pixel
                size = 32 if name == "every-kind-32" else 28
                assert attributions.shape == (size, size), (name, method)
            if method == "integrated-gradients":
                assert answer["completeness"]["relative_error"] <= 0.01, (name, answer["completeness"])
    # Beside the others (compare=1, as /why asks), a network Grad-CAM cannot explain is one entry with its reading
    # and the reason, not a 400 for all of them (the /why page read nothing when a dense-only network was served).
    convolutional = [name for name in discover(artifacts) if "Conv2D" in {kind for _, kind in kinds(artifacts, name)}]
    dense_only = [name for name in discover(artifacts) if name not in convolutional]
    assert convolutional and dense_only == ["centroid"]
    response = client.post(f"/api/attribution?model={convolutional[0]}&method=grad-cam&compare=1", data=drawing,
                           content_type="image/png")
    assert response.status_code == 200, response.get_json()
    entries = {entry["model"]: entry for entry in response.get_json()["compare"]}
    assert sorted(entries) == discover(artifacts)
    for name, entry in entries.items():
        if name in dense_only:
            assert entry["error"]["code"] == "no-convolution" and "map" not in entry, entry
            alone = client.post(f"/api/predict?model={name}", data=drawing, content_type="image/png").get_json()
            assert (entry["digit"], entry["confidence"], entry["reason"]) == (
                alone["digit"], alone["confidence"], alone["reason"])
        else:
            assert "error" not in entry and np.isfinite(np.asarray(entry["map"], dtype=float)).all(), name
    # Asked of the dense-only network itself, the request is refused as before: its own map cannot be made.
    response = client.post("/api/attribution?model=centroid&method=grad-cam&compare=1", data=drawing,
                           content_type="image/png")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "no-convolution"
    assert png_bytes  # the helper the other API tests use is importable here too


def lambda_model():
    import keras
    from keras import layers

    return keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Lambda(lambda x: x * 2, name="double"),
                             layers.Flatten(), layers.Dense(10, activation="softmax")])


def lstm_model():
    import keras
    from keras import layers

    return keras.Sequential([keras.Input(shape=(28, 28)), layers.LSTM(8, name="rows"), layers.Dense(10, activation="softmax")])


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda_model, ["'double'", "Lambda", "supported kinds: Conv2D, Dense"]),
        (lstm_model, ["'rows'", "LSTM", "supported kinds: Conv2D, Dense"]),
        (None, ["is not a Keras model file", "model.save"]),
    ],
    ids=["lambda", "lstm", "not-a-keras-file"],
)
def test_a_file_the_app_cannot_explain_is_refused_and_nothing_is_written(build, expected, tmp_path, mnist, capsys):
    path = tmp_path / "model.keras"
    if build is None:
        path.write_text("print('hello')\n")
    else:
        build().save(path)
    artifacts = tmp_path / "networks"
    artifacts.mkdir()
    with pytest.raises(importer.ImportRefused) as refused:
        importer.import_network(path, "mine", artifacts, mnist.test_images[:8], mnist.test_labels[:8])
    for text in expected:
        assert text in str(refused.value)
    assert list(artifacts.iterdir()) == []
    # The command says it, and that nothing was written.
    assert importer.main([str(path), "--name", "mine", "--artifacts", str(artifacts)]) == 2
    error = capsys.readouterr().err
    assert all(text in error for text in expected) and "Nothing was written" in error
    assert list(artifacts.iterdir()) == []


def test_a_lambda_file_is_refused_before_keras_reads_it(tmp_path, monkeypatch, mnist):
    # The check reads config.json; Keras (which could run the layer's code) is never called.
    path = tmp_path / "lambda.keras"
    lambda_model().save(path)
    monkeypatch.setattr(importer, "load_keras", lambda path: pytest.fail("Keras was asked to load a refused file"))
    with pytest.raises(importer.ImportRefused, match="Lambda"):
        importer.import_network(path, "mine", tmp_path / "networks", mnist.test_images[:8], mnist.test_labels[:8])
    assert not (tmp_path / "networks").exists() or list((tmp_path / "networks").iterdir()) == []


@pytest.mark.parametrize("name", ["", "Mine", "_gate", ".hidden", "a/b", "x" * 41, "a b"])
def test_a_name_that_cannot_be_a_network_folder_is_refused(name, model_files, tmp_path, mnist):
    with pytest.raises(importer.ImportRefused, match="is not usable"):
        importer.import_network(model_files["strided-same"], name, tmp_path, mnist.test_images[:8], mnist.test_labels[:8])
    assert list(tmp_path.iterdir()) == []


def test_an_existing_network_is_replaced_only_when_asked(imported, model_files, mnist, tmp_path):
    artifacts, _ = imported
    copy = tmp_path / "networks"
    shutil.copytree(artifacts / "strided-same", copy / "strided-same")
    before = (copy / "strided-same" / "card.json").read_text()
    with pytest.raises(importer.ImportRefused, match="exists"):
        importer.import_network(model_files["strided-same"], "strided-same", copy, mnist.test_images[:8],
                                mnist.test_labels[:8])
    assert (copy / "strided-same" / "card.json").read_text() == before
    result = importer.import_network(model_files["strided-same"], "strided-same", copy, mnist.test_images[:8],
                                     mnist.test_labels[:8], replace=True, verbose=False)
    assert result.card["test"]["images"] == 8
    assert sorted(path.name for path in copy.iterdir()) == ["strided-same"]


# --- Backward: the learning page and the attribution maps on an imported network ---------------


def tensorflow_gradients(model, images: np.ndarray, labels: np.ndarray):
    """d loss / d every layer's output and every trainable weight, by GradientTape (loss summed over the images)."""
    import keras
    import tensorflow as tf

    with tf.GradientTape(persistent=True) as tape:
        x = tf.constant(images[..., None].astype(np.float32))
        tape.watch(x)
        tensors = [x]
        for layer in model.layers:
            if isinstance(layer, keras.layers.InputLayer):
                continue
            x = layer(x, training=False)
            tensors.append(x)
        picked = tf.gather(tensors[-1], labels, axis=1, batch_dims=1)
        loss = -tf.reduce_sum(tf.math.log(picked))
    outputs = [None if tensor is None else np.asarray(tensor) for tensor in tape.gradient(loss, tensors)]
    weights = {}
    for layer in model.layers:
        for variable in layer.trainable_weights:
            weights.setdefault(layer.name, {})[variable.name.split("/")[-1]] = np.asarray(tape.gradient(loss, variable))
    return outputs, weights


def assert_close(ours: np.ndarray, theirs: np.ndarray, what) -> None:
    scale = float(np.abs(theirs).max())
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4 * scale + 1e-9, err_msg=str(what))


def test_the_backward_pass_of_every_imported_network_matches_tensorflow(imported, mnist):
    import keras

    from webapp import backward

    artifacts, _ = imported
    for name in discover(artifacts):
        network = Network.load(artifacts / name)
        model = keras.saving.load_model(artifacts / name / KERAS_FILE, compile=False)
        images = np.stack([network.input_image(image) for image in mnist.test_images[:4]])
        labels = mnist.test_labels[:4].astype(np.int64)
        weights = network.kernels()
        outputs = backward.forward(network.layers, weights, images)
        for index, image in enumerate(images):  # numpy's forward is LiteRT's, layer by layer
            for layer, ours, served in zip(network.layers, outputs, network.features(image), strict=True):
                assert_close(ours[index], served, (name, layer.name))
        top = backward.logits_layer(network.layers)
        gradients = backward.backward(network.layers, weights, outputs,
                                      backward.softmax_loss_gradient(outputs[-1], labels), top)
        expected_outputs, expected_weights = tensorflow_gradients(model, images, labels)
        position = [layer.name for layer in network.layers].index(top)
        for index in range(position + 1):
            assert_close(gradients.outputs[index], expected_outputs[index], (name, network.layers[index].name))
        assert set(gradients.weights) == set(expected_weights), name
        for layer, variables in expected_weights.items():
            assert set(gradients.weights[layer]) == set(variables), (name, layer)
            for variable, expected in variables.items():
                assert_close(gradients.weights[layer][variable], expected, (name, layer, variable))


def test_a_learning_step_on_every_imported_network_is_tensorflows(imported, mnist):
    """One SGD step on each imported network moves every trainable weight by -rate × TensorFlow's gradient; batch
    normalization's moving mean and variance have no gradient and stay (they made /api/learn a 500 before); and
    /api/learn answers with every optimizer."""
    import keras

    from webapp import create_app, optimizer

    artifacts, _ = imported
    client = create_app({"TESTING": True, "ARTIFACTS_DIR": str(artifacts), "DEFAULT_MODEL": "every-kind-28"}).test_client()
    drawing = client_png(network_image=mnist.test_images[7])
    rate = 0.1
    stayed = []
    for name in discover(artifacts):
        network = Network.load(artifacts / name)
        model = keras.saving.load_model(artifacts / name / KERAS_FILE, compile=False)
        image = network.input_image(mnist.test_images[7])
        weights = network.kernels()
        result = optimizer.take_steps(network.layers, weights, image[None], [3], optimizer.SGD(rate), 1)
        _, expected = tensorflow_gradients(model, image[None], np.array([3]))
        for layer, variables in weights.items():
            for variable, before in variables.items():
                after = result.weights[layer][variable]
                if variable in expected.get(layer, {}):
                    step = -rate * expected[layer][variable]
                    tolerance = 1e-4 * np.abs(step).max() + np.spacing(np.abs(before)).max()
                    np.testing.assert_allclose(after, before + step, rtol=0, atol=tolerance, err_msg=f"{name} {layer}/{variable}")
                else:
                    np.testing.assert_array_equal(after, before)
                    stayed.append(f"{name} {layer}/{variable}")
        for kind in optimizer.OPTIMIZERS:
            response = client.post(f"/api/learn?model={name}&label=3&optimizer={kind}&steps=2&probe=0", data=drawing,
                                   content_type="image/png")
            assert response.status_code == 200, (name, kind, response.get_json())
            assert all(np.isfinite(step["loss"]) for step in response.get_json()["trajectory"]), (name, kind)
    assert sorted(stayed) == ["every-kind-28 norm/moving_mean", "every-kind-28 norm/moving_variance",
                              "every-kind-32 norm/moving_mean", "every-kind-32 norm/moving_variance"]


def client_png(network_image: np.ndarray) -> bytes:
    """An MNIST digit as the PNG a page would send (dark ink on white)."""
    from tests.conftest import png_bytes

    return png_bytes(255 - network_image)


def test_every_gradient_cell_of_the_new_kinds_adds_up(imported, mnist):
    from webapp import backward

    artifacts, _ = imported
    rng = np.random.default_rng(4)
    seen = set()
    for name in discover(artifacts):
        network = Network.load(artifacts / name)
        images = network.input_image(mnist.test_images[7])[None]
        weights = network.kernels()
        outputs = backward.forward(network.layers, weights, images)
        top = backward.logits_layer(network.layers)
        gradients = backward.backward(network.layers, weights, outputs,
                                      backward.softmax_loss_gradient(outputs[-1], [3]), top)
        position_top = [layer.name for layer in network.layers].index(top)
        for position, layer in enumerate(network.layers[:position_top]):
            shape = layer.shape
            for _ in range(3):
                at = tuple(int(rng.integers(size)) for size in shape)
                terms = backward.gradient_terms(network.layers, weights, outputs, gradients, position, "output", at)
                assert sum(terms["terms"]) == pytest.approx(terms["value"], rel=1e-4, abs=1e-6 * (1 + abs(terms["value"]))), (name, layer.name, at)
                seen.add(network.layers[position + 1].kind)
            for variable in ("gamma", "beta") if layer.kind == "BatchNormalization" else ():
                if variable in weights[layer.name]:
                    at = (int(rng.integers(shape[-1])),)
                    terms = backward.gradient_terms(network.layers, weights, outputs, gradients, position, variable, at)
                    assert sum(terms["terms"]) == pytest.approx(terms["value"], rel=1e-4, abs=1e-6), (name, layer.name, variable)
    assert {"BatchNormalization", "Activation", "GlobalAveragePooling2D", "ZeroPadding2D"} <= seen


def test_the_drawn_set_is_prepared_once_and_read_back_the_same(tmp_path, monkeypatch):
    from train import drawn

    first = importer.cached_drawn_set(12, tmp_path)
    fresh = drawn.prepare_drawn_set(12)
    (stored,) = list(tmp_path.glob("drawn-12-*.npz"))

    def not_again(*_args, **_kwargs):
        raise AssertionError("prepared again although cached")

    monkeypatch.setattr(drawn, "prepare_drawn_set", not_again)
    again = importer.cached_drawn_set(12, tmp_path)
    for prepared in (first, again):
        np.testing.assert_array_equal(prepared.images, fresh.images)
        np.testing.assert_array_equal(prepared.labels, fresh.labels)
        np.testing.assert_array_equal(prepared.empty, fresh.empty)
        assert prepared.description == fresh.description
    # Another count is another set.
    monkeypatch.undo()
    assert len(importer.cached_drawn_set(8, tmp_path).labels) == 8 and len(list(tmp_path.glob("drawn-*.npz"))) == 2
    assert stored.is_file()


def test_gamma_and_beta_gradients_are_explained_over_http_as_tensorflow_computes_them(imported, mnist):
    """/api/learn/explain?of=gamma|beta on a batch normalization: the value is GradientTape's d loss / d γ[c]
    (and β[c]), the terms (x̂ · δ, δ · 1 over the channel's cells) add up to it, the gradient check agrees, and
    the SGD update is w − η·g; /api/learn carries both strips; of=gamma of a layer without γ is a 400."""
    import keras

    from webapp import create_app

    artifacts, _ = imported
    client = create_app({"TESTING": True, "ARTIFACTS_DIR": str(artifacts), "DEFAULT_MODEL": "every-kind-28"}).test_client()
    drawing = client_png(network_image=mnist.test_images[7])
    network = Network.load(artifacts / "every-kind-28")
    model = keras.saving.load_model(artifacts / "every-kind-28" / KERAS_FILE, compile=False)
    learned = client.post("/api/learn?model=every-kind-28&label=3&probe=0&dense_kernels=0", data=drawing,
                          content_type="image/png").get_json()
    (norm,) = [layer for layer in learned["layers"] if layer["name"] == "norm"]
    assert sorted(norm["weight_gradient"]) == ["beta", "gamma"] and norm["weight_gradient"]["gamma"]["shape"] == [4]
    image = np.asarray(learned["input"], np.float32)  # the image the network saw (the page's PNG, prepared)
    _, expected = tensorflow_gradients(model, image[None], np.array([3]))
    weights = network.kernels()
    rate = 0.05
    for variable, operation in (("gamma", "batch-norm-gamma"), ("beta", "batch-norm-beta")):
        for channel in range(4):
            response = client.post(f"/api/learn/explain?model=every-kind-28&label=3&layer=norm&of={variable}&at={channel}"
                                   f"&rate={rate}", data=drawing, content_type="image/png")
            assert response.status_code == 200, response.get_json()
            answer = response.get_json()
            truth = float(expected["norm"][variable][channel])
            assert answer["value"] == pytest.approx(truth, rel=1e-4, abs=1e-4 * float(np.abs(expected["norm"][variable]).max()))
            assert answer["operation"] == operation and answer["of"] == variable and answer["at"] == [channel]
            assert len(answer["terms"]) == 29 * 27  # every cell of the channel: padded to 31x29, conv1 3x3 -> 29x27
            assert sum(answer["terms"]) == pytest.approx(answer["value"], rel=1e-4, abs=1e-7)
            assert all(term == pytest.approx(a * b, rel=1e-6, abs=1e-12) for term, (a, b) in zip(answer["terms"], answer["factors"]))
            assert answer["numerical"]["value"] == pytest.approx(answer["value"], rel=1e-3, abs=1e-6)
            weight = float(weights["norm"][variable][channel])
            assert answer["update"]["weight"] == weight
            assert answer["update"]["new"] == pytest.approx(weight - rate * answer["value"], rel=1e-6, abs=1e-7)
        if variable == "gamma":  # x̂ of each term is (x - mean) / deviation of the channel, with the numbers given
            assert answer["deviation"] == pytest.approx(np.sqrt(weights["norm"]["moving_variance"][3] + 1e-3), rel=1e-6)
            assert answer["mean"] == pytest.approx(float(weights["norm"]["moving_mean"][3]), rel=1e-6)
    for query, code in (("model=every-kind-28&layer=conv1&of=gamma&at=0", "no-weights"),
                        ("model=every-kind-32&layer=norm&of=beta&at=0", "no-weights"),  # center=False: no β
                        ("model=every-kind-28&layer=norm&of=gamma&at=4", "cell-out-of-range"),
                        ("model=every-kind-28&layer=norm&of=moving_mean&at=0", "invalid-of")):
        response = client.post(f"/api/learn/explain?label=3&{query}", data=drawing, content_type="image/png")
        assert response.status_code == 400 and response.get_json()["error"]["code"] == code, (query, response.get_json())
