"""POST /api/learn and /api/learn/explain on the small test networks: the contract's answer, its numbers, the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.conftest import SMALL_32
from train.drawings import random_drawing, render
from webapp import backward, optimizer
from webapp.features import dequantize_channels
from webapp.learn import PROBE_SIZE


@pytest.fixture(scope="module")
def seven_png() -> bytes:
    return render(random_drawing(np.random.default_rng(1), 7))


def post(client, url: str, png: bytes):
    return client.post(url, data=png, content_type="image/png")


def network(app, name: str | None = None):
    from webapp.registry import get_registry

    with app.app_context():
        return get_registry().get(name)


def decode(entry: dict) -> np.ndarray:
    import base64

    return dequantize_channels(base64.b64decode(entry["data"]), entry["shape"], entry["min"], entry["max"])


@pytest.mark.parametrize("model", [None, SMALL_32])
def test_one_step_answers_the_contract(app, client, seven_png, model):
    query = f"?label=3&model={model}" if model else "?label=3"
    answer = post(client, "/api/learn" + query, seven_png).get_json()
    net = network(app, model)
    assert answer["model"] == net.name and answer["label"] == 3 and answer["steps"] == 1
    assert answer["optimizer"] == "sgd" and answer["rate"] == optimizer.DEFAULT_RATES["sgd"]
    assert len(answer["input"]) == net.input_size
    probabilities = np.array(answer["probabilities"])
    assert probabilities.sum() == pytest.approx(1, abs=1e-5)
    assert answer["loss"] == pytest.approx(-math.log(probabilities[3]), rel=1e-5)
    assert answer["delta"] == pytest.approx(list(probabilities - np.eye(10)[3]), abs=1e-6)
    assert [layer["name"] for layer in answer["layers"]] == [layer.name for layer in net.layers]
    for entry, layer in zip(answer["layers"], net.layers, strict=True):
        assert entry["kind"] == layer.kind and entry["output_gradient"]["shape"] == list(layer.shape)
        assert ("weight_gradient" in entry) == (layer.name in net.kernels())
    assert len(answer["trajectory"]) == 1 and set(answer["trajectory"][0]) == {"loss", "probabilities"}
    assert answer["probe"]["size"] == PROBE_SIZE and 0 <= answer["probe"]["before"] <= 1
    assert 0 <= answer["probe"]["after"] <= 1
    assert set(answer["reading"]) == {"digit", "confidence", "reason"}


def test_the_numbers_are_the_backward_pass_and_the_step(app, client, seven_png):
    net = network(app)
    answer = post(client, "/api/learn?label=3&rate=0.5", seven_png).get_json()
    image = np.array(answer["input"], np.uint8)[None]
    training = optimizer.take_steps(net.layers, net.kernels(), image, [3], optimizer.SGD(0.5), 1)
    assert answer["trajectory"][0]["probabilities"] == pytest.approx(list(training.trajectory[0].probabilities[0]), abs=1e-6)
    assert answer["trajectory"][0]["loss"] == pytest.approx(training.trajectory[0].loss, rel=1e-6)
    # The learning step moved the reading towards the label.
    assert answer["trajectory"][0]["probabilities"][3] > answer["probabilities"][3]
    for entry, gradient in zip(answer["layers"][:-1], training.gradients.outputs[:-1], strict=True):
        values = decode(entry["output_gradient"])
        span = max(np.abs(gradient[0]).max(), 1e-30)
        assert np.abs(values - gradient[0]).max() <= span / 255 + 1e-9, entry["name"]
    kernel = answer["layers"][2]["weight_gradient"]["kernel"]
    expected = training.gradients.weights[answer["layers"][2]["name"]]["kernel"]
    assert np.abs(decode(kernel) - expected).max() <= np.abs(expected).max() / 255 * 1.01


def test_equal_requests_get_equal_answers_and_the_served_weights_never_change(app, client, seven_png):
    before = {name: {k: v.copy() for k, v in variables.items()} for name, variables in network(app).kernels().items()}
    first = post(client, "/api/learn?label=1&optimizer=adam&rate=0.01&steps=4", seven_png).get_json()
    second = post(client, "/api/learn?label=1&optimizer=adam&rate=0.01&steps=4", seven_png).get_json()
    assert first == second and len(first["trajectory"]) == 4
    for name, variables in network(app).kernels().items():
        for key, value in variables.items():
            np.testing.assert_array_equal(value, before[name][key])


def test_dense_kernels_0_leaves_out_the_dense_kernel_gradients_and_nothing_else(app, client, seven_png):
    full = post(client, "/api/learn?label=3&probe=0", seven_png).get_json()
    lean = post(client, "/api/learn?label=3&probe=0&dense_kernels=0", seven_png).get_json()
    assert {key: value for key, value in lean.items() if key != "layers"} == \
        {key: value for key, value in full.items() if key != "layers"}
    dense = [layer.name for layer in network(app).layers if layer.kind == "Dense"]
    assert dense, "the test network has dense layers"
    for whole, left, layer in zip(full["layers"], lean["layers"], network(app).layers, strict=True):
        if layer.kind == "Dense":
            assert set(whole["weight_gradient"]) == {"kernel", "bias"} and set(left["weight_gradient"]) == {"bias"}
            assert left["weight_gradient"]["bias"] == whole["weight_gradient"]["bias"]
            assert {key: value for key, value in left.items() if key != "weight_gradient"} == \
                {key: value for key, value in whole.items() if key != "weight_gradient"}
        else:
            assert left == whole, layer.name


@pytest.mark.parametrize("kind", list(optimizer.OPTIMIZERS))
def test_every_optimizer_lowers_the_loss(client, seven_png, kind):
    answer = post(client, f"/api/learn?label=2&optimizer={kind}&steps=5&probe=0&layers=0", seven_png).get_json()
    assert answer["probe"] is None and "layers" not in answer
    losses = [step["loss"] for step in answer["trajectory"]]
    assert losses[-1] < answer["loss"], (kind, answer["loss"], losses)


def test_a_huge_rate_may_diverge_and_still_answers_json(client, seven_png):
    response = post(client, "/api/learn?label=2&rate=10&steps=50&probe=0&layers=0", seven_png)
    assert response.status_code == 200
    assert all(step["loss"] is None or math.isfinite(step["loss"]) for step in response.get_json()["trajectory"])


@pytest.mark.parametrize(
    "query, code",
    [
        ("", "missing-label"),
        ("label=10", "invalid-label"),
        ("label=-1", "invalid-label"),
        ("label=three", "invalid-label"),
        ("label=3&steps=0", "invalid-steps"),
        ("label=3&steps=51", "invalid-steps"),
        ("label=3&steps=2.5", "invalid-steps"),
        ("label=3&optimizer=lbfgs", "unknown-optimizer"),
        ("label=3&rate=nan", "invalid-rate"),
        ("label=3&rate=inf", "invalid-rate"),
        ("label=3&rate=-0.1", "invalid-rate"),
        ("label=3&rate=0", "invalid-rate"),
        ("label=3&rate=1e9", "invalid-rate"),
        ("label=3&rate=fast", "invalid-rate"),
        ("label=3&probe=yes", "invalid-probe"),
        ("label=3&layers=2", "invalid-layers"),
        ("label=3&dense_kernels=no", "invalid-dense-kernels"),
    ],
)
def test_bad_learning_settings_are_400_with_a_clear_code(client, seven_png, query, code):
    response = post(client, f"/api/learn?{query}", seven_png)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]


def test_unknown_model_and_bad_image(client, seven_png):
    response = post(client, "/api/learn?label=3&model=nope", seven_png)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "unknown-model"
    response = client.post("/api/learn?label=3", data=b"not a png", content_type="image/png")
    assert 400 <= response.status_code < 500 and "error" in response.get_json()


# --- /api/learn/explain --------------------------------------------------------------------------------


def explain(client, png, query):
    response = post(client, f"/api/learn/explain?{query}", png)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def check_adds_up(answer: dict) -> None:
    terms = np.asarray(answer["terms"], np.float64)
    assert len(terms) == len(answer["factors"])
    for term, (a, b) in zip(answer["terms"], answer["factors"], strict=True):
        assert term == a * b
    assert terms.sum() == pytest.approx(answer["value"], rel=1e-4, abs=1e-5 * max(np.abs(terms).sum(), 1e-12))


@pytest.mark.parametrize("model", [None, SMALL_32])
def test_every_layers_gradient_cell_is_explained_and_adds_up(app, client, seven_png, model):
    net = network(app, model)
    suffix = f"&model={model}" if model else ""
    for layer in net.layers:
        at = ",".join("1" if size > 1 else "0" for size in layer.shape)
        answer = explain(client, seven_png, f"label=4&layer={layer.name}&of=output&at={at}{suffix}")
        assert answer["layer"] == layer.name and answer["of"] == "output"
        check_adds_up(answer)
        if "numerical" in answer and not answer["numerical"]["kink"]:
            assert answer["numerical"]["value"] == pytest.approx(answer["value"], rel=2e-3, abs=1e-6), (
                layer.name, answer["numerical"])
        for variable, values in net.kernels().get(layer.name, {}).items():
            at = ",".join("0" for _ in values.shape)
            answer = explain(client, seven_png, f"label=4&layer={layer.name}&of={variable}&at={at}{suffix}")
            check_adds_up(answer)
            update = answer["update"]
            assert update["optimizer"] == "sgd" and update["weight"] == float(values[(0,) * values.ndim])
            assert update["new"] == pytest.approx(update["weight"] - update["rate"] * update["gradient"], rel=1e-6, abs=1e-9)
            assert answer["numerical"]["h"] == backward.NUMERICAL_H


def test_the_logits_gradient_is_y_minus_t(client, seven_png):
    learned = post(client, "/api/learn?label=4&probe=0&layers=0", seven_png).get_json()
    answer = explain(client, seven_png, "label=4&layer=logits&of=output&at=4")
    assert answer["operation"] == "softmax-cross-entropy"
    assert answer["factors"] == [[learned["probabilities"][4], 1.0], [1.0, -1.0]]
    assert answer["value"] == pytest.approx(learned["delta"][4], abs=1e-7)


@pytest.mark.parametrize(
    "query, code",
    [
        ("label=3&of=output&at=0", "missing-layer"),
        ("label=3&layer=nope&of=output&at=0", "unknown-layer"),
        ("label=3&layer=conv1&of=output", "missing-cell"),
        ("label=3&layer=conv1&of=output&at=99,0,0", "cell-out-of-range"),
        ("label=3&layer=conv1&of=output&at=1,2", "invalid-cell"),
        ("label=3&layer=conv1&of=weights&at=0", "invalid-of"),
        ("label=3&layer=relu1&of=kernel&at=0,0,0,0", "no-weights"),
        ("label=3&layer=conv1&of=kernel&at=5,0,0,0", "cell-out-of-range"),
        ("layer=conv1&of=output&at=0,0,0", "missing-label"),
        ("label=3&layer=conv1&of=bias&at=0&optimizer=sgdx", "unknown-optimizer"),
    ],
)
def test_bad_explain_requests_are_400_with_a_clear_code(client, seven_png, query, code):
    response = post(client, f"/api/learn/explain?{query}", seven_png)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["code"] == code


def test_the_learn_page_is_served_and_linked_from_every_page():
    from webapp import create_app

    client = create_app({"TESTING": True}).test_client()  # the shipped networks: the header lists them
    response = client.get("/learn?lang=en&model=lenet")
    assert response.status_code == 200 and b'data-testid="learn"' in response.data
    assert b'<option value="lenet" data-input-size="32" selected>' in response.data
    for path in ("/", "/layers"):
        assert b'href="/learn' in client.get(path).data


def test_a_client_that_has_gone_is_seen_and_the_probe_stops_for_it():
    """A page that asked again closes its first request: the server sees it and stops computing for nobody."""
    import socket

    from webapp.learn import ClientGone, accuracy, client_gone_check

    server_side, client_side = socket.socketpair()
    try:
        gone = client_gone_check({"gunicorn.socket": server_side})
        assert gone() is False  # connected, nothing sent: still waiting for its answer
        client_side.sendall(b"GET / HTTP/1.1\r\n")  # a pipelined request is not a goodbye
        assert gone() is False
        assert server_side.recv(100)
        client_side.close()
        assert gone() is True
    finally:
        server_side.close()
    assert client_gone_check({})() is False  # no socket (Flask's test client): always there
    with pytest.raises(ClientGone):  # before its first chunk: no layer is ever run
        accuracy([], {}, 28, gone=lambda: True)


def test_the_answer_is_jsonify_s_bytes_with_base64_written_in_directly(app, client, seven_png):
    """json_answer writes base64 into the body unscanned; the bytes are jsonify's, whatever else the answer holds."""
    from flask import jsonify

    from webapp.api import json_answer
    from webapp.features import encode_values

    rng = np.random.default_rng(11)
    answer = {
        "z": [encode_values(rng.normal(size=(7, 5)).astype(np.float32)) for _ in range(3)],
        "a": {"text": "\x00 tricky \"quotes\" \\ \u00e9 \u2028 \x00" + "0" * 40, "numbers": [1.5, float("nan"), -0.0]},
        "m": [[{"data": encode_values(rng.normal(size=300).astype(np.float32))["data"]}], []],
        "plain": "no base64 here",
    }
    with app.app_context():  # not a request's: the app's request counts must not see one end
        assert json_answer(answer).get_data() == jsonify(answer).get_data()
        assert json_answer({"x": 1}).get_data() == jsonify({"x": 1}).get_data()

    learned = client.post("/api/learn?label=7", data=seven_png, content_type="image/png",
                          headers={"Accept-Encoding": "identity"})
    assert learned.status_code == 200
    with app.app_context():  # not a request's: the app's request counts must not see one end
        assert learned.get_data() == jsonify(learned.get_json()).get_data()  # decoded and encoded again: the same bytes
