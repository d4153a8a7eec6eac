"""The shipped MNIST test set, /api/mnist, and the record page's numbers (from the model card)."""

from __future__ import annotations

import base64
import hashlib
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from train.data import CHECKSUMS
from webapp import create_app, record, registry
from webapp.mnist import FOLDER, shipped_test_set
from webapp.artifacts import SERVED_FILES

TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # CONTRACT.md


@pytest.fixture(scope="module")
def shipped_app():
    """The app on the shipped artifacts: the record page reads the real cards (nothing is loaded for it)."""
    return create_app({"TESTING": True})


@pytest.fixture()
def shipped(shipped_app):
    """A client of the shipped app, inside its app context (for calling webapp.record directly)."""
    with shipped_app.app_context():
        yield shipped_app.test_client()


def pixels(answer: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(answer["pixels"]), dtype=np.uint8).reshape(28, 28)


def test_the_shipped_files_are_mnists_test_set():
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        raw = gzip.decompress((FOLDER / f"{stem}.gz").read_bytes())
        assert hashlib.sha256(raw).hexdigest() == CHECKSUMS[stem]
    data = shipped_test_set()
    assert data.images.shape == (10_000, 28, 28)
    assert np.bincount(data.labels).tolist() == TEST_LABEL_COUNTS


def test_a_digit_by_index_is_mnists(shipped, mnist):
    for index in (0, 1234, 9999):
        answer = shipped.get(f"/api/mnist/{index}").get_json()
        assert answer["index"] == index
        assert answer["label"] == mnist.test_labels[index]
        assert np.array_equal(pixels(answer), mnist.test_images[index])


@pytest.mark.parametrize("label", range(10))
def test_a_random_digit_of_a_label_has_that_label(shipped, mnist, label):
    for _ in range(3):
        answer = shipped.get(f"/api/mnist/random?label={label}").get_json()
        assert answer["label"] == label == mnist.test_labels[answer["index"]]
        assert np.array_equal(pixels(answer), mnist.test_images[answer["index"]])


def test_random_digits_vary(shipped):
    indices = {shipped.get("/api/mnist/random").get_json()["index"] for _ in range(20)}
    assert len(indices) > 10


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/api/mnist/10000", 404, "unknown-digit"),
        ("/api/mnist/-1", 404, "not-found"),
        ("/api/mnist/abc", 404, "not-found"),
        ("/api/mnist/random?label=10", 400, "invalid-label"),
        ("/api/mnist/random?label=x", 400, "invalid-label"),
        ("/api/mnist/random?label=", 400, "invalid-label"),
        ("/api/mnist?label=4", 400, "missing-cell"),
        ("/api/mnist?predicted=4", 400, "missing-cell"),
        ("/api/mnist?label=4&predicted=9&limit=0", 400, "invalid-limit"),
        ("/api/mnist?label=4&predicted=9&limit=501", 400, "invalid-limit"),
        ("/api/mnist?label=4&predicted=9&offset=-1", 400, "invalid-offset"),
        ("/api/mnist?label=4&predicted=9&model=nope", 404, "unknown-model"),
        ("/api/mnist?label=1e1&predicted=9", 400, "invalid-label"),
    ],
)
def test_bad_queries_are_clear_errors(shipped, url, status, code):
    response = shipped.get(url)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_every_cell_lists_the_digits_the_card_counts(shipped):
    """Each confusion-matrix cell's digits: as many as the card says, each with that label."""
    matrix = registry.network_card("digit-lens")["test"]["confusion_matrix"]
    labels = shipped_test_set().labels
    for label in range(10):
        for predicted in range(10):
            answer = shipped.get(f"/api/mnist?label={label}&predicted={predicted}&limit=500").get_json()
            assert answer["total"] == matrix[label][predicted], (label, predicted)
            assert len(answer["digits"]) == min(500, matrix[label][predicted])
            assert all(labels[digit["index"]] == label == digit["label"] for digit in answer["digits"])


def test_cells_page_through_their_digits(shipped):
    first = shipped.get("/api/mnist?label=1&predicted=1&limit=500").get_json()
    rest = shipped.get("/api/mnist?label=1&predicted=1&limit=500&offset=500").get_json()
    last = shipped.get("/api/mnist?label=1&predicted=1&limit=500&offset=1000").get_json()
    indices = [digit["index"] for part in (first, rest, last) for digit in part["digits"]]
    assert len(indices) == len(set(indices)) == first["total"] == registry.network_card("digit-lens")["test"]["confusion_matrix"][1][1]


def test_record_view_agrees_with_the_card(shipped):
    card = registry.network_card("digit-lens")
    view = record.view("digit-lens")
    matrix = card["test"]["confusion_matrix"]
    assert [item["right"] for item in view["digits"]] == [matrix[digit][digit] for digit in range(10)]
    assert [round(item["accuracy"], 5) for item in view["digits"]] == card["test"]["per_digit_accuracy"]
    assert view["errors"] == round((1 - card["test"]["accuracy"]) * 10_000)
    assert [[cell["count"] for cell in row] for row in view["matrix"]] == matrix
    assert sum(layer["parameters"] for layer in view["layers"]) == view["parameters"] == card["parameters"]["total"]
    assert view["has_predictions"]


def test_learning_curves_follow_the_history(shipped):
    history = registry.network_card("digit-lens")["training"]["history"]
    charts = record.learning_charts(history, best_epoch=28)
    loss, accuracy = charts
    for chart, keys in ((loss, ("loss", "val_loss")), (accuracy, ("accuracy", "val_accuracy"))):
        for curve, key in zip(chart.curves, keys, strict=True):
            values = history[key]
            points = [tuple(map(float, point.split(","))) for point in curve.points.split()]
            assert len(points) == len(values)
            # Each point's height is its value on the chart's scale; the ticks are round and cover every value.
            for (_, y), value in zip(points, values, strict=True):
                assert y == pytest.approx((1 - (value - chart.low) / (chart.high - chart.low)) * record.PLOT_HEIGHT, abs=0.06)
            assert chart.low <= min(values) and max(values) <= chart.high
    assert [label for _, label in loss.ticks] == ["0.00", "0.10", "0.20", "0.30", "0.40"]


def test_the_record_page_shows_the_card(shipped):
    html = shipped.get("/record").get_data(as_text=True)
    card = registry.network_card("digit-lens")
    assert f"{card['test']['accuracy'] * 100:.2f}%" in html and f"{card['parameters']['total']:,}" in html
    assert all(f"{layer['parameters']:,}" in html for layer in card["architecture"])
    assert html.count('class="cell"') == sum(1 for row in record.view("digit-lens")["matrix"] for cell in row if cell["count"])
    assert "CC BY-SA 3.0" in html and "Yann LeCun" in html


def test_an_unknown_network_has_no_record(shipped):
    response = shipped.get("/record?model=nope")
    assert response.status_code == 404
    assert "digit-lens" in response.get_data(as_text=True)


def test_recorded_predictions_give_the_cards_confusion_matrix(shipped):
    """For every served network, the per-image predictions the record page lists agree exactly with its matrix.

    A card without them shows its matrix as plain numbers (no digits to list); the default network must have them.
    """
    checked = []
    for name in registry.network_names():
        predictions = record.test_predictions(name)
        if predictions is None:
            continue
        confusion = np.zeros((10, 10), dtype=int)
        np.add.at(confusion, (shipped_test_set().labels, predictions), 1)
        assert confusion.tolist() == registry.network_card(name)["test"]["confusion_matrix"], name
        checked.append(name)
    assert "digit-lens" in checked


@pytest.fixture()
def with_seed_card(tmp_path):
    """An app whose artifacts hold the shipped card and a seed network's (its val_* curves are the test set,
    no per-image predictions). The record page reads only the cards; the other served files are placeholders."""
    shipped = json.loads((Path(__file__).resolve().parent.parent / "webapp/artifacts/digit-lens/card.json").read_text())
    matrix = [[100 if row == column else 0 for column in range(10)] for row in range(10)]
    matrix[7][1] = 5
    seed = {
        "name": "lenet", "title": "LeNet", "input_shape": [28, 28, 1],
        "architecture": [{"name": "conv1", "kind": "Conv2D", "output_shape": [28, 28, 6], "parameters": 156},
                         {"name": "dense", "kind": "Dense", "output_shape": [10], "parameters": 1010}],
        "parameters": {"total": 1166},
        "test": {"images": 1005, "accuracy": 1000 / 1005, "confusion_matrix": matrix},
        "training": {"epochs": 2, "batch_size": 32, "optimizer": "Adam",
                     "validation": "none held out: val_* in history is MNIST's test set",
                     "history": {"loss": [0.5, 0.2], "val_loss": [0.3, 0.25], "accuracy": [0.9, 0.95], "val_accuracy": [0.93, 0.96]}},
    }
    for name, card in (("digit-lens", shipped), ("lenet", seed)):
        (tmp_path / name).mkdir()
        for served in SERVED_FILES:
            (tmp_path / name / served).write_bytes(b"")
        (tmp_path / name / "card.json").write_text(json.dumps(card))
    app = create_app({"TESTING": True, "ARTIFACTS_DIR": str(tmp_path)})
    with app.app_context():
        yield app.test_client()


def test_every_network_with_a_card_has_a_record(with_seed_card):
    client = with_seed_card
    assert registry.network_names() == ["digit-lens", "lenet"]
    view = record.view("lenet")
    assert view["validation_is_test"] and not record.view("digit-lens")["validation_is_test"]
    assert view["errors"] == 5 and view["digits"][7]["right"] == 100 and view["parameters"] == 1166
    html = client.get("/record?model=lenet").get_data(as_text=True)
    assert 'aria-current="page">lenet' in html  # the networks' links, this one current
    assert "the test digits at 0.2500" in html  # its val_* curves are named for what they are
    assert 'class="cell"' not in html  # without per-image predictions, the cells are plain numbers
    response = client.get("/api/mnist?model=lenet&label=7&predicted=1")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "no-predictions"
