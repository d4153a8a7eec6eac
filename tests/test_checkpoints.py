"""Checkpoints: kept while training, stored small, served on demand (webapp/checkpoints.py, train/checkpoints.py).

A tiny training run (1,200 images, 2 epochs) checks the mechanism end to end;
the shipped networks' checkpoints are checked against MNIST's test digits.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import png_bytes
from webapp import checkpoints as stored
from webapp import create_app
from webapp.artifacts import ARTIFACTS, discover
from webapp.registry import Registry

TINY = ["--model", "lenet", "--limit", "1200", "--epochs", "2", "--no-figures", "--verbose", "0"]


def train_tiny(out: Path) -> Path:
    from train.__main__ import main

    assert main([*TINY, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, mnist) -> Path:
    """A folder of networks: the shipped ones, with lenet replaced by a tiny training run's (checkpoints and all)."""
    import shutil

    out = tmp_path_factory.mktemp("tiny")
    for name in discover(ARTIFACTS):
        if name != "lenet":
            shutil.copytree(ARTIFACTS / name, out / name)
    shutil.copytree(ARTIFACTS / "_gate", out / "_gate")
    return train_tiny(out)


def test_encoding_keeps_each_weight_within_half_a_grid_step():
    rng = np.random.default_rng(0)
    final = {"conv1/kernel": rng.normal(0, 0.3, (5, 5, 1, 8)).astype(np.float32), "conv1/bias": np.zeros(8, np.float32)}
    for scale in (0.001, 0.05, 1.0):  # far from the final weights (step 0), near them, in between
        weights = {key: (value + rng.normal(0, scale, value.shape)).astype(np.float32) for key, value in final.items()}
        arrays = stored.encode(weights, final)
        decoded = stored.decode(arrays, final)
        for key, value in weights.items():
            step = float(arrays[key + stored.STEP_SUFFIX])
            assert np.abs(decoded[key] - value).max() <= step / 2 * (1 + 1e-3)
            assert decoded[key].dtype == np.float32


def test_decoding_gives_the_numbers_training_measured_bit_for_bit():
    """decode works in place, but each weight is still base + integer * step as one float32 sum (the shipped
    checkpoints' accuracy was measured with ``(final + integers.astype(float32) * step).astype(float32)``)."""
    rng = np.random.default_rng(1)
    final = {"dense/kernel": rng.normal(0, 0.1, (64, 10)).astype(np.float32), "dense/bias": rng.normal(0, 1, 10).astype(np.float32)}
    for scale in (0.001, 1.0):  # near the final weights (stored as a difference), far from them (stored as themselves)
        weights = {key: (value + rng.normal(0, scale, value.shape)).astype(np.float32) for key, value in final.items()}
        arrays = stored.encode(weights, final)
        decoded = stored.decode(arrays, final)
        for key in weights:
            step = np.float32(arrays[key + stored.STEP_SUFFIX])
            expected = arrays[key].astype(np.float32) * step
            if int(arrays[key + stored.BASE_SUFFIX]):
                expected = (final[key] + expected).astype(np.float32)
            assert decoded[key].dtype == np.float32 and np.array_equal(decoded[key], expected), (scale, key)
        assert any(int(arrays[key + stored.BASE_SUFFIX]) == (scale < 0.5) for key in weights)


def test_the_same_arrays_always_make_the_same_file(tmp_path):
    arrays = {"a/kernel": np.arange(12, dtype=np.int8).reshape(3, 4), "a/kernel:step": np.float32(0.5)}
    stored.write_npz(tmp_path / "one.npz", arrays)
    stored.write_npz(tmp_path / "two.npz", dict(reversed(list(arrays.items()))))
    assert (tmp_path / "one.npz").read_bytes() == (tmp_path / "two.npz").read_bytes()
    assert np.array_equal(stored.read_npz(tmp_path / "one.npz")["a/kernel"], arrays["a/kernel"])


def test_the_cache_keeps_within_its_bytes_and_drops_the_least_recently_used():
    cache = stored.CheckpointCache(max_bytes=250)
    loads = []

    def loader(key, size):
        def load():
            loads.append(key)
            return key, size
        return load

    for key in ("a", "b"):
        cache.get(key, loader(key, 100))
    cache.get("a", loader("a", 100))  # a is now the most recently used
    cache.get("c", loader("c", 100))  # b goes
    assert cache.bytes <= 250 and len(cache) == 2
    cache.get("a", loader("a", 100))
    cache.get("b", loader("b", 100))
    assert loads == ["a", "b", "c", "b"]
    assert cache.get("huge", loader("huge", 1000)) == "huge" and cache.bytes <= 250  # served, not kept


def test_training_saves_step_0_early_steps_every_epoch_and_the_final_network(tiny):
    manifest = stored.read_manifest(tiny / "lenet")
    names = [entry["name"] for entry in manifest["checkpoints"]]
    assert names == ["step-0", "step-10", "epoch-1", "epoch-2", "final"]
    steps = [entry["step"] for entry in manifest["checkpoints"]]
    assert steps == sorted(steps) and steps[0] == 0
    card = json.loads((tiny / "lenet" / "card.json").read_text())
    final = manifest["checkpoints"][-1]
    assert final["accuracy"] == card["test"]["accuracy"]
    predictions = json.loads((tiny / "lenet" / "checkpoints" / stored.PREDICTIONS_FILE).read_text())
    assert predictions["final"] == card["test"]["predictions"]  # the served (LiteRT) digits
    for entry in manifest["checkpoints"]:
        assert sum(map(sum, entry["confusion"])) == manifest["test_images"]


def test_a_second_training_run_writes_the_same_checkpoint_files(tiny, tmp_path):
    again = train_tiny(tmp_path) / "lenet"
    first = tiny / "lenet"
    files = sorted(path.relative_to(first) for path in (first / "checkpoints").iterdir())
    assert files == sorted(path.relative_to(again) for path in (again / "checkpoints").iterdir())
    for name in [*files, Path(stored.MANIFEST_FILE), Path("weights.npz")]:
        assert (first / name).read_bytes() == (again / name).read_bytes(), name


# The shipped networks that have checkpoints (all of them, once every one is retrained with them).
SHIPPED = [name for name in discover(ARTIFACTS) if stored.read_manifest(ARTIFACTS / name)]


def test_every_shipped_network_has_at_least_five_checkpoints_from_step_0_to_final():
    for name in SHIPPED:
        entries = stored.read_manifest(ARTIFACTS / name)["checkpoints"]
        assert len(entries) >= 5 and entries[0]["name"] == "step-0" and entries[-1]["name"] == "final", name
        assert entries[0]["accuracy"] < 0.3, name  # untrained: about one in ten
        card = json.loads((ARTIFACTS / name / "card.json").read_text())
        assert entries[-1]["accuracy"] == card["test"]["accuracy"], name


def test_the_shipped_checkpoints_fit_in_40_mb():
    total = sum(
        path.stat().st_size
        for name in SHIPPED
        for path in [ARTIFACTS / name / stored.MANIFEST_FILE, *(ARTIFACTS / name / "checkpoints").iterdir()]
    )
    assert total <= 40_000_000, total


# Serving: ?checkpoint= on every model endpoint, each checkpoint answering as its record says.


@pytest.fixture(scope="module")
def tiny_client(tiny):
    return create_app({"TESTING": True, "ARTIFACTS_DIR": str(tiny)}).test_client()


@pytest.fixture(scope="module")
def seven() -> bytes:
    image = np.zeros((28, 28), dtype=np.uint8)
    image[6:9, 8:21] = 255
    for row in range(9, 23):
        image[row, 19 - (row - 9) // 2 : 22 - (row - 9) // 2] = 255
    return png_bytes(image)


def test_models_lists_the_checkpoints_in_training_order(tiny_client):
    models = {model["name"]: model for model in tiny_client.get("/api/models").get_json()["models"]}
    listed = models["lenet"]["checkpoints"]
    assert [entry["name"] for entry in listed] == ["step-0", "step-10", "epoch-1", "epoch-2", "final"]
    assert set(listed[0]) == {"name", "step", "epoch", "accuracy"}
    assert listed[0]["epoch"] == 0.0 and listed[-1]["epoch"] == 2.0


@pytest.mark.parametrize(
    "method, path",
    [("post", "/api/predict"), ("post", "/api/features"), ("post", "/api/explain?layer=conv1&at=0,0,0"),
     ("get", "/api/kernels")],
)
def test_final_answers_exactly_as_no_checkpoint_and_an_unknown_one_is_a_404(tiny_client, seven, method, path):
    separator = "&" if "?" in path else "?"
    send = getattr(tiny_client, method)
    options = {"data": seven, "content_type": "image/png"} if method == "post" else {}
    plain = send(f"{path}{separator}model=lenet", **options)
    final = send(f"{path}{separator}model=lenet&checkpoint=final", **options)
    assert plain.status_code == final.status_code == 200
    assert plain.get_json() == final.get_json()
    early = send(f"{path}{separator}model=lenet&checkpoint=step-0", **options)
    assert early.status_code == 200 and early.get_json() != plain.get_json()
    missing = send(f"{path}{separator}model=lenet&checkpoint=epoch-99", **options)
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "unknown-checkpoint"


def test_a_network_without_checkpoints_lists_none_and_answers_only_final(tiny, tmp_path, seven):
    """A network trained before checkpoints existed: listed with none, served as before, any other name a 404."""
    import shutil

    shutil.copytree(tiny / "lenet", tmp_path / "lenet", ignore=shutil.ignore_patterns("checkpoints*"))
    shutil.copytree(tiny / "_gate", tmp_path / "_gate")
    client = create_app({"TESTING": True, "ARTIFACTS_DIR": str(tmp_path), "DEFAULT_MODEL": "lenet"}).test_client()
    models = client.get("/api/models").get_json()["models"]
    assert [(model["name"], model["checkpoints"]) for model in models] == [("lenet", [])]
    plain = client.post("/api/predict?model=lenet", data=seven, content_type="image/png")
    final = client.post("/api/predict?model=lenet&checkpoint=final", data=seven, content_type="image/png")
    assert plain.status_code == final.status_code == 200 and plain.get_json() == final.get_json()
    early = client.post("/api/predict?model=lenet&checkpoint=step-0", data=seven, content_type="image/png")
    assert early.status_code == 404
    assert early.get_json()["error"]["code"] == "unknown-checkpoint"
    assert "choose one of final" in early.get_json()["error"]["message"]
    listed = client.get("/api/checkpoints?model=lenet").get_json()
    assert listed["checkpoints"] == [] and listed["test_images"] == 0


def served_digits(registry: Registry, name: str, checkpoint: str, images: np.ndarray) -> np.ndarray:
    network = registry.get(name, checkpoint)
    return np.array([int(network.predict(image).argmax()) for image in images])


def check_recorded_against_served(folder: Path, mnist, sample: slice) -> None:
    """Each checkpoint's recorded accuracy and digits against what the server answers on MNIST test digits."""
    registry = Registry.load(folder.parent)
    manifest = stored.read_manifest(folder)
    recorded = json.loads((folder / "checkpoints" / stored.PREDICTIONS_FILE).read_text())
    labels = mnist.test_labels[: manifest["test_images"]]
    images = mnist.test_images[: manifest["test_images"]][sample]
    for entry in manifest["checkpoints"]:
        digits = np.array([int(digit) for digit in recorded[entry["name"]]])
        assert round(float((digits == labels).mean()), 5) == entry["accuracy"], entry["name"]
        served = served_digits(registry, folder.name, entry["name"], images)
        # The same float32 arithmetic, summed in another order: a near tie may fall the other way.
        agreement = float((served == digits[sample]).mean())
        assert agreement >= 0.99, (entry["name"], agreement)


def test_the_tiny_runs_checkpoints_answer_as_recorded(tiny, mnist):
    check_recorded_against_served(tiny / "lenet", mnist, slice(None))


def test_every_shipped_checkpoint_touched_the_cache_keeps_the_stored_integers_within_its_bound():
    registry = Registry.load(ARTIFACTS)
    cache = registry.checkpoints.cache
    largest = 0
    for name in SHIPPED:
        for entry in stored.read_manifest(ARTIFACTS / name)["checkpoints"]:
            network = registry.get(name, entry["name"])
            if "file" not in entry:  # final, and the epoch it is: the served network itself
                assert network is registry.get(name)
                continue
            arrays = stored.read_npz(ARTIFACTS / name / entry["file"])
            largest = max(largest, sum(value.nbytes for value in arrays.values()))
            # The weights run are the file's, decoded: what training measured the recorded accuracy on.
            expected = stored.decode(arrays, {f"{layer}/{variable}": value for layer, variables
                                              in registry.get(name).kernels().items() for variable, value in variables.items()})
            served = {f"{layer}/{variable}": value for layer, variables in network.kernels().items()
                      for variable, value in variables.items()}
            assert served.keys() == expected.keys() and all(np.array_equal(served[key], expected[key]) for key in served)
            assert 0 < cache.bytes <= stored.CACHE_BYTES
    assert largest <= stored.CACHE_BYTES / 3  # the largest checkpoint, three times over, fits in the cache
    for arrays in (value for _, value in cache._entries.values()):
        # As stored (integers, 8-bit in every shipped file), not decoded to float32.
        assert {array.dtype.kind for key, array in arrays.items() if not key.endswith((stored.STEP_SUFFIX, stored.BASE_SUFFIX))} == {"i"}


# The shipped networks: every checkpoint, on every 25th MNIST test digit (400 per checkpoint).
@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_checkpoint_answers_as_recorded(name, mnist):
    check_recorded_against_served(ARTIFACTS / name, mnist, slice(None, None, 25))
