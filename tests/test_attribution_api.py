"""POST /api/attribution: the contract's answer for every method, the cell query, and clear 4xx errors.

The plumbing runs on the small test networks (tests/conftest.py, no gate);
the gate's explanation on the shipped networks and their gate.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import SMALL_32
from train.drawings import NON_DIGITS, random_drawing, render, shaped_drawing
from webapp import attribution, create_app


@pytest.fixture(scope="module")
def seven_png() -> bytes:
    return render(random_drawing(np.random.default_rng(11), 7))


@pytest.fixture(scope="module")
def letter_png() -> bytes:
    return render(shaped_drawing(np.random.default_rng(5), NON_DIGITS["A"][1]))


def attribute(client, png: bytes, **query):
    query = {key: str(value) for key, value in query.items()}
    return client.post("/api/attribution", query_string=query, data=png, content_type="image/png")


@pytest.mark.parametrize("method", attribution.METHODS)
@pytest.mark.parametrize("model", ["digit-lens", SMALL_32])
def test_every_method_answers_a_map_over_the_input(client, seven_png, method, model):
    response = attribute(client, seven_png, model=model, method=method)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    size = 32 if model == SMALL_32 else 28
    assert answer["model"] == model and answer["method"] == method and answer["of"] == "network"
    assert answer["score"] == "logit"
    assert answer["target"] == int(np.argmax(answer["probabilities"]))  # nothing read by an untrained net: the most probable
    assert len(answer["map"]) == size and all(len(row) == size for row in answer["map"])
    assert len(answer["input"]) == size
    assert ("completeness" in answer) == (method == "integrated-gradients")
    if method == "integrated-gradients":
        completeness = answer["completeness"]
        assert completeness["baseline"] == "blank" and completeness["steps"] >= 64
        assert completeness["sum"] == pytest.approx(sum(map(sum, answer["map"])), rel=1e-4, abs=1e-5)
        if abs(completeness["difference"]) > 0.05:  # an untrained network's scores hardly move
            assert abs(completeness["sum"] - completeness["difference"]) <= 0.01 * abs(completeness["difference"])
    if method == "grad-cam":
        assert answer["grad_cam"]["layer"] == "relu1" or answer["grad_cam"]["layer"].startswith("relu")
        assert len(answer["grad_cam"]["weights"]) > 0
    if method == "occlusion":
        assert answer["occlusion"]["patch"] == attribution.DEFAULT_PATCH
    if method == "gradient-x-input":
        gradient = np.array(answer["gradient"])
        assert np.allclose(np.array(answer["map"]), gradient * np.array(answer["input"]))


def test_the_target_is_chosen_and_the_cell_query_gives_its_numbers(client, seven_png):
    answer = attribute(client, seven_png, method="integrated-gradients", target=1, at="14,14").get_json()
    assert answer["target"] == 1
    cell = answer["cell"]
    assert cell["at"] == [14, 14]
    assert cell["value"] == pytest.approx(answer["map"][14][14], rel=1e-6)
    assert cell["share"] == pytest.approx(cell["value"] / answer["completeness"]["sum"], rel=1e-5)

    occlusion = attribute(client, seven_png, method="occlusion", target=1, at="14,14", patch=7).get_json()
    assert occlusion["occlusion"]["patch"] == 7
    assert occlusion["cell"]["patch"] == {"top": 14, "left": 14, "height": 7, "width": 7}
    assert occlusion["cell"]["value"] == pytest.approx(occlusion["cell"]["logit"] - occlusion["cell"]["logit_without"])
    assert occlusion["cell"]["probability"] == pytest.approx(occlusion["probability"])

    saliency = attribute(client, seven_png, method="saliency", at="10,12").get_json()
    path = saliency["cell"]["path"]
    assert path[0]["gradient"] == 1.0 and path[-1]["at"] == [10, 12, 0]
    assert path[-1]["gradient"] == pytest.approx(saliency["map"][10][12], rel=1e-5, abs=1e-9)


BAD_QUERIES = [
    ({}, 400, "unknown-method"),
    ({"method": "lime"}, 400, "unknown-method"),
    ({"method": "saliency", "target": "10"}, 400, "invalid-target"),
    ({"method": "saliency", "target": "-1"}, 400, "invalid-target"),
    ({"method": "saliency", "target": "seven"}, 400, "invalid-target"),
    ({"method": "saliency", "target": "9" * 5000}, 400, "invalid-target"),
    ({"method": "saliency", "at": "1," + "2" * 5000}, 400, "invalid-cell"),
    ({"method": "saliency", "of": "everything"}, 400, "invalid-of"),
    ({"method": "saliency", "of": "gate"}, 404, "no-gate"),  # the test networks have no gate
    ({"method": "occlusion", "patch": "1"}, 400, "invalid-patch"),
    ({"method": "occlusion", "patch": "100"}, 400, "invalid-patch"),
    ({"method": "integrated-gradients", "steps": "4"}, 400, "invalid-steps"),
    ({"method": "integrated-gradients", "steps": "100000"}, 400, "invalid-steps"),
    ({"method": "saliency", "at": "28,0"}, 400, "invalid-cell"),
    ({"method": "saliency", "at": "3"}, 400, "invalid-cell"),
    ({"method": "saliency", "at": "a,b"}, 400, "invalid-cell"),
    ({"method": "saliency", "model": "resnet"}, 404, "unknown-model"),
    ({"method": "saliency", "compare": "yes"}, 400, "invalid-compare"),
]


@pytest.mark.parametrize(("query", "status", "code"), BAD_QUERIES)
def test_bad_queries_are_clear_json_errors(client, seven_png, query, status, code):
    response = client.post("/api/attribution", query_string=query, data=seven_png, content_type="image/png")
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]


def test_image_errors_are_the_predict_endpoints_own(client):
    response = client.post("/api/attribution?method=saliency", data=b"not a png", content_type="image/png")
    assert response.status_code in (400, 415)
    assert response.get_json()["error"]["code"]
    response = client.post("/api/attribution?method=saliency", data=b"", content_type="image/png")
    assert response.get_json()["error"]["code"] == "empty-image"
    assert client.get("/api/attribution?method=saliency").status_code == 405


@pytest.fixture(scope="module")
def shipped_client():
    """The app with the shipped networks and their not-a-digit gate."""
    return create_app({"TESTING": True}).test_client()


def test_the_gate_explains_why_a_letter_is_not_a_digit(shipped_client, letter_png):
    answer = attribute(shipped_client, letter_png, method="integrated-gradients", of="gate").get_json()
    assert answer["reason"] == "not-a-digit"
    assert answer["of"] == "gate" and answer["target_name"] == "not-a-digit" and answer["target"] == 1
    assert len(answer["map"]) == 28 and len(answer["gate_input"]) == 28
    completeness = answer["completeness"]
    assert abs(completeness["sum"] - completeness["difference"]) <= 0.01 * abs(completeness["difference"])
    # The gate's not-a-digit probability is the reading's not_a_digit.
    assert answer["probability"] == pytest.approx(answer["not_a_digit"], abs=1e-5)
    for method in attribution.METHODS:
        response = attribute(shipped_client, letter_png, method=method, of="gate", model="lenet")
        assert response.status_code == 200 and len(response.get_json()["map"]) == 28


def test_of_gate_takes_no_target_and_no_compare(shipped_client, letter_png):
    response = attribute(shipped_client, letter_png, method="saliency", of="gate", target=3)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "target-with-gate"
    response = attribute(shipped_client, letter_png, method="saliency", of="gate", compare=1)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "compare-with-gate"


def test_compare_answers_every_network_on_the_same_drawing(client, seven_png):
    answer = attribute(client, seven_png, model=SMALL_32, method="grad-cam", compare=1, at="3,4").get_json()
    assert [entry["model"] for entry in answer["compare"]] == ["digit-lens", SMALL_32]  # the default first
    for entry in answer["compare"]:
        assert entry["method"] == "grad-cam" and "cell" not in entry and "compare" not in entry
        size = 32 if entry["model"] == SMALL_32 else 28
        assert len(entry["map"]) == len(entry["input"]) == size
    mine = answer["compare"][1]
    assert mine["map"] == answer["map"] and answer["cell"]["at"] == [3, 4]
    chosen = attribute(client, seven_png, method="saliency", compare=1, target=2).get_json()
    assert all(entry["target"] == 2 for entry in chosen["compare"])


def test_shipped_network_explains_the_digit_it_read(shipped_client, seven_png):
    for model in ("digit-lens", "lenet", "keras-mnist", "torch-net", "simple-convnet"):
        answer = attribute(shipped_client, seven_png, method="grad-cam", model=model).get_json()
        assert answer["digit"] == 7 and answer["target"] == 7
        assert answer["logit"] == max(answer["logit"], 0)  # a confident 7 has a positive logit
