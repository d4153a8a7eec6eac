"""Several networks: the registry finds them from their folders, ?model= picks one, /api/models lists them,
the pooled interpreters are safe under threads, the export refuses a wrong file, and serving never
imports TensorFlow or Keras."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SMALL_32
from train.drawings import random_drawing, render
from webapp.artifacts import ARTIFACTS, CARD_FILE, discover
from webapp import preprocess
from webapp.model import Network
from webapp.registry import Registry

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def seven_png() -> bytes:
    return render(random_drawing(np.random.default_rng(7), 7))


def test_models_lists_every_network_from_its_card(client, small_artifacts):
    import keras

    answer = client.get("/api/models").get_json()
    assert answer["default"] == "digit-lens"
    assert [entry["name"] for entry in answer["models"]] == ["digit-lens", SMALL_32]
    by_name = {entry["name"]: entry for entry in answer["models"]}
    assert by_name["digit-lens"]["title"] == "small digit-lens" and by_name[SMALL_32]["source"] == "tests"
    assert by_name["digit-lens"]["input_shape"] == [28, 28, 1] and by_name[SMALL_32]["input_shape"] == [32, 32, 1]
    trained = keras.saving.load_model(small_artifacts / "digit-lens.keras", compile=False)
    assert by_name["digit-lens"]["parameters"] == trained.count_params()
    assert "mnist_test" in by_name["digit-lens"]["accuracy"]


def test_a_network_folder_is_all_it_takes(small_artifacts, tmp_path, seven_png):
    from webapp import create_app

    artifacts = tmp_path / "artifacts"
    shutil.copytree(small_artifacts / "digit-lens", artifacts / "digit-lens")
    shutil.copytree(small_artifacts / SMALL_32, artifacts / "another-net")
    shutil.copytree(small_artifacts / SMALL_32, artifacts / "_helper")  # a helper model: not served
    (artifacts / "notes").mkdir()  # no served files: not a network
    (artifacts / "trained-only").mkdir()  # trained but never exported: not served (yet)
    shutil.copy(small_artifacts / "digit-lens.keras", artifacts / "trained-only" / "model.keras")
    shutil.copy(small_artifacts / SMALL_32 / "card.json", artifacts / "trained-only" / "card.json")
    assert discover(artifacts) == ["another-net", "digit-lens"]
    client = create_app({"TESTING": True, "ARTIFACTS_DIR": str(artifacts)}).test_client()
    assert [entry["name"] for entry in client.get("/api/models").get_json()["models"]] == ["digit-lens", "another-net"]
    response = client.post("/api/predict?model=another-net", data=seven_png, content_type="image/png")
    assert response.status_code == 200 and len(response.get_json()["input"]) == 32
    assert client.post("/api/predict?model=_helper", data=seven_png, content_type="image/png").status_code == 404


def test_a_32x32_network_sees_the_28x28_digit_centred_with_a_2px_border(client, app, seven_png):
    from webapp.registry import get_network

    default = client.post("/api/predict", data=seven_png, content_type="image/png").get_json()
    answer = client.post(f"/api/predict?model={SMALL_32}", data=seven_png, content_type="image/png").get_json()
    seen = np.array(answer["input"], dtype=np.uint8)
    assert seen.shape == (32, 32)
    np.testing.assert_array_equal(seen[2:30, 2:30], np.array(default["input"], dtype=np.uint8))
    assert not seen[:2].any() and not seen[30:].any() and not seen[:, :2].any() and not seen[:, 30:].any()
    with app.app_context():
        expected = get_network(SMALL_32).predict(seen)
    np.testing.assert_allclose(answer["probabilities"], expected, atol=1e-6)
    assert answer["probabilities"] != default["probabilities"]


def test_features_and_kernels_follow_the_model_parameter(client, small_artifacts, seven_png):
    import keras

    answer = client.post(f"/api/features?model={SMALL_32}", data=seven_png, content_type="image/png").get_json()
    assert [layer["name"] for layer in answer["layers"]] == [
        "input", "rescale", "conv1", "relu1", "pool1", "flatten", "logits", "softmax"
    ]
    assert answer["layers"][0]["shape"] == [32, 32, 1] and answer["layers"][2]["shape"] == [28, 28, 4]
    assert answer["layers"][2]["settings"]["padding"] == "valid"
    kernels = client.get(f"/api/kernels?model={SMALL_32}").get_json()["layers"]
    assert [(layer["name"], layer["kernel_shape"]) for layer in kernels] == [("conv1", [5, 5, 1, 4])]
    default_etag = client.get("/api/kernels").headers["ETag"]
    assert client.get(f"/api/kernels?model={SMALL_32}").headers["ETag"] != default_etag


@pytest.mark.parametrize(
    ("method", "url"),
    [("post", "/api/predict"), ("post", "/api/features"), ("get", "/api/kernels")],
)
def test_an_unknown_model_is_a_404(client, seven_png, method, url):
    kwargs = {"data": seven_png, "content_type": "image/png"} if method == "post" else {}
    response = getattr(client, method)(f"{url}?model=no-such-net", **kwargs)
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "unknown-model" and "digit-lens" in error["message"]


def test_features_are_gzipped_for_clients_that_accept_it(client, seven_png):
    plain = client.post("/api/features", data=seven_png, content_type="image/png")
    zipped = client.post("/api/features", data=seven_png, content_type="image/png",
                         headers={"Accept-Encoding": "gzip, deflate, br"})
    assert "Content-Encoding" not in plain.headers and zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"] and "Accept-Encoding" in plain.headers["Vary"]
    assert len(zipped.data) < len(plain.data) / 2
    assert json.loads(gzip.decompress(zipped.data)) == plain.get_json()
    refused = client.post("/api/features", data=seven_png, content_type="image/png",
                          headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers


def test_pooled_interpreters_give_every_thread_the_right_answer(small_artifacts):
    """Many threads on a pool of two interpreters: each call gets its own image's outputs, exactly."""
    network = Network.load(small_artifacts / "digit-lens", pool_size=2)
    images = np.random.default_rng(3).integers(0, 256, size=(24, 28, 28), dtype=np.uint8)
    expected_probabilities = [network.predict(image) for image in images]
    expected_logits = [network.features(image)[-2] for image in images]
    wrong: list[str] = []

    def worker(offset: int) -> None:
        for round_ in range(40):
            index = (offset + round_) % len(images)
            if not np.array_equal(network.predict(images[index]), expected_probabilities[index]):
                wrong.append(f"predict {index}")
            if not np.array_equal(network.features(images[index])[-2], expected_logits[index]):
                wrong.append(f"features {index}")

    threads = [threading.Thread(target=worker, args=(offset,)) for offset in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
    assert network._features._made <= 2


def test_a_folder_missing_a_file_is_named_in_the_error(small_artifacts, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(small_artifacts / SMALL_32, folder)
    (folder / "layers.tflite").unlink()
    with pytest.raises(FileNotFoundError, match="layers.tflite"):
        Network.load(folder)
    with pytest.raises(FileNotFoundError, match="no exported network"):
        Registry.load(tmp_path / "empty")


def test_the_export_refuses_files_that_do_not_compute_what_keras_does(tmp_path, monkeypatch):
    """A conversion that drifts from the Keras weights is caught by the parity check, and nothing is written."""
    from tests.conftest import build_small_32
    from train import export

    model = build_small_32()
    original = export.convert

    def drifting(keras_model):
        saved = keras_model.get_weights()
        keras_model.set_weights([weight * 1.01 for weight in saved])
        try:
            return original(keras_model)
        finally:
            keras_model.set_weights(saved)

    monkeypatch.setattr(export, "convert", drifting)
    images = np.random.default_rng(0).integers(0, 256, size=(8, 28, 28), dtype=np.uint8)
    with pytest.raises(export.ExportError, match="differ"):
        export.export_model(model, tmp_path / "drifted", images, card={}, verbose=False)
    assert sorted(path.name for path in (tmp_path / "drifted").iterdir()) == []


SERVE_WITHOUT_TENSORFLOW = """
import sys
from webapp import create_app
app = create_app({"TESTING": True})
client = app.test_client()
png = open(sys.argv[1], "rb").read()
for url in ("/api/predict", "/api/features"):
    response = client.post(url, data=png, content_type="image/png")
    assert response.status_code == 200, (url, response.get_data()[:300])
assert response.get_json()["digit"] is not None
assert client.get("/api/kernels").status_code == 200 and client.get("/api/models").status_code == 200
heavy = sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras", "tf_keras", "jax", "torch"))
assert not heavy, heavy
assert "ai_edge_litert" in sys.modules
print("ok")
"""


def test_serving_never_imports_tensorflow_or_keras(tmp_path, seven_png):
    png = tmp_path / "seven.png"
    png.write_bytes(seven_png)
    result = subprocess.run(
        [sys.executable, "-c", SERVE_WITHOUT_TENSORFLOW, str(png)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


def test_the_card_of_each_shipped_network_is_valid_json_with_its_name():
    for name in discover(ARTIFACTS):
        card = json.loads((ARTIFACTS / name / CARD_FILE).read_text())
        assert card["name"] == name and len(card["test"]["predictions"]) == card["test"]["images"]
        assert set(card["test"]["predictions"]) <= set("0123456789")


def large_weights(folder: Path) -> dict[str, np.ndarray]:
    """The arrays of a weights file that Network.kernels does not keep in memory, read from the archive."""
    from webapp.model import KEPT_WEIGHT_BYTES, WEIGHTS_FILE

    with np.load(folder / WEIGHTS_FILE) as archive:
        return {key: archive[key] for key in archive.files if archive[key].nbytes > KEPT_WEIGHT_BYTES}


def mapped(array: np.ndarray) -> bool:
    """Whether ``array``'s memory is a file mapping (np.memmap somewhere down its chain of bases)."""
    while array is not None:
        if isinstance(array, np.memmap):
            return True
        array = array.base if isinstance(array.base, np.ndarray) else None
    return False


@pytest.fixture()
def shipped_digit_lens(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGIT_LENS_CACHE_DIR", str(tmp_path / "cache"))
    return ARTIFACTS / "digit-lens"


def test_large_weights_are_mapped_from_an_uncompressed_copy_not_inflated_on_each_call(shipped_digit_lens, tmp_path):
    expected = large_weights(shipped_digit_lens)
    assert list(expected) == ["dense1/kernel"]  # the one array over the bound: what this test is about
    network = Network.load(shipped_digit_lens)
    first, second = network.kernels(), network.kernels()
    with np.load(shipped_digit_lens / "weights.npz") as archive:
        for key in archive.files:
            layer, _, variable = key.rpartition("/")
            for answer in (first, second):
                assert answer[layer][variable].dtype == archive[key].dtype == np.float32
                np.testing.assert_array_equal(answer[layer][variable], archive[key])
                assert not answer[layer][variable].flags.writeable, f"{key}: shared by every request"
    assert mapped(second["dense1"]["kernel"]) and not mapped(second["dense1"]["bias"])
    assert type(second["dense1"]["kernel"]) is np.ndarray
    copies = list((tmp_path / "cache").iterdir())
    assert [path.suffix for path in copies] == [".npy"]
    assert copies[0].stat().st_size >= expected["dense1/kernel"].nbytes
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("damage", ["missing", "truncated", "other shape"])
def test_a_lost_or_damaged_copy_is_never_served_and_is_written_again(shipped_digit_lens, tmp_path, damage):
    expected = large_weights(shipped_digit_lens)["dense1/kernel"]
    network = Network.load(shipped_digit_lens)
    network.kernels()
    (copy,) = (tmp_path / "cache").iterdir()
    if damage == "missing":
        copy.unlink()
    elif damage == "truncated":
        copy.write_bytes(copy.read_bytes()[: copy.stat().st_size // 2])
    else:
        np.save(copy, expected[:10])
    np.testing.assert_array_equal(network.kernels()["dense1"]["kernel"], expected)
    again = network.kernels()["dense1"]["kernel"]
    assert mapped(again)
    np.testing.assert_array_equal(again, expected)


def test_a_cache_folder_others_can_write_is_not_used(shipped_digit_lens, tmp_path):
    from webapp.model import weights_cache_folder

    (tmp_path / "cache").mkdir(mode=0o777)
    (tmp_path / "cache").chmod(0o777)
    assert weights_cache_folder() is None
    network = Network.load(shipped_digit_lens)
    for _ in range(2):
        kernel = network.kernels()["dense1"]["kernel"]
        assert not mapped(kernel)
        np.testing.assert_array_equal(kernel, large_weights(shipped_digit_lens)["dense1/kernel"])
    assert list((tmp_path / "cache").iterdir()) == []


def resident_bytes(path: Path) -> int:
    """This process's resident bytes of every mapping of file ``path`` (/proc/self/smaps)."""
    target, total, current = str(path.resolve()), 0, None
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if fields[0].endswith(":"):
                if fields[0] == "Rss:" and current == target:
                    total += int(fields[1]) * 1024
            else:
                current = fields[5] if len(fields) > 5 else None
    return total


def test_a_loaded_network_keeps_no_pages_of_its_model_file(tmp_path):
    """LiteRT reads the whole .tflite while it builds an interpreter, and then runs from XNNPACK's packed
    weights: the file's pages leave the process, readings and every layer's maps bring few of them back,
    and the answers are the interpreter's own."""
    from ai_edge_litert.interpreter import Interpreter

    folder = tmp_path / "keras-mnist"  # the largest served network (4.8 MB), in a file of this test's own
    shutil.copytree(ARTIFACTS / "keras-mnist", folder)
    model_file = folder / "layers.tflite"
    size = model_file.stat().st_size
    kept = Interpreter(model_path=str(model_file), num_threads=1)  # built as before: its pages stay resident
    kept.allocate_tensors()
    assert resident_bytes(model_file) > size // 2

    network = Network.load(folder)
    assert resident_bytes(model_file) < size // 20  # both interpreters' mappings: given back
    images = np.random.default_rng(5).integers(0, 256, size=(8, 28, 28), dtype=np.uint8)
    runner = kept.get_signature_runner()
    (input_name,) = runner.get_input_details()
    for image in images:
        expected = runner(**{input_name: network._batch(image)})
        assert np.array_equal(network.predict(image), expected["softmax"][0])
        assert np.array_equal(network.features(image)[-2], expected["logits"][0])
    assert resident_bytes(model_file) < size // 20


@pytest.mark.parametrize("name", discover(ARTIFACTS))
def test_a_reading_from_the_one_output_file_is_the_all_layers_file_s_bit_for_bit(name, mnist):
    """The default network reads from predict.tflite (fewer buffers, faster); its probabilities must be
    exactly the last layer that /api/features and every explanation show. Checked for every shipped network,
    on MNIST test digits and drawings, so any network can be made the default."""
    one_output = Network.load(ARTIFACTS / name, own_reading=True)
    all_layers = Network.load(ARTIFACTS / name)
    assert one_output._predict is not None and all_layers._predict is None
    images = list(mnist.test_images[:150])
    images += [preprocess.prepare(render(random_drawing(np.random.default_rng(seed), seed % 10))).image
               for seed in range(50)]
    for image in images:
        probabilities = one_output.predict(image)
        assert probabilities.dtype == np.float32 and probabilities.shape == (10,)
        assert np.array_equal(probabilities, all_layers.predict(image))
        assert np.array_equal(probabilities, one_output.features(image)[-1])


def test_the_registry_reads_the_default_network_from_its_one_output_file():
    registry = Registry.load(ARTIFACTS)
    assert [name for name in registry.names if registry.get(name)._predict is not None] == [registry.default]
