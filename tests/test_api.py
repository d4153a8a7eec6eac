"""The HTTP API against a small model built in a fixture: forms, answers, errors, health."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest

from tests.conftest import png_bytes
from train.drawings import random_drawing, render


@pytest.fixture(scope="module")
def seven_png() -> bytes:
    return render(random_drawing(np.random.default_rng(1), 7))


def check_reading(answer: dict) -> None:
    """The contract's answer shape."""
    assert set(answer) >= {"digit", "probabilities", "confidence", "reason", "input"}
    probabilities = answer["probabilities"]
    assert len(probabilities) == 10 and abs(sum(probabilities) - 1.0) < 1e-6
    assert answer["confidence"] == pytest.approx(max(probabilities))
    assert len(answer["input"]) == 28 and all(len(row) == 28 for row in answer["input"])
    assert all(0 <= value <= 255 for row in answer["input"] for value in row)
    if answer["digit"] is None:
        assert answer["reason"] in ("empty", "uncertain")
    else:
        assert answer["reason"] is None and answer["digit"] == int(np.argmax(probabilities))


def post_forms(client, url: str, png: bytes):
    """The same image in the three accepted forms."""
    encoded = base64.b64encode(png).decode()
    yield client.post(url, data=png, content_type="image/png")
    yield client.post(url, data={"image": (io.BytesIO(png), "digit.png")}, content_type="multipart/form-data")
    yield client.post(url, json={"image": f"data:image/png;base64,{encoded}"})
    yield client.post(url, json={"image": encoded})


def test_predict_answers_the_same_in_every_form(client, seven_png):
    answers = [response.get_json() for response in post_forms(client, "/api/predict", seven_png)]
    for answer in answers:
        check_reading(answer)
    assert all(answer["probabilities"] == answers[0]["probabilities"] for answer in answers)
    assert all(answer["input"] == answers[0]["input"] for answer in answers)


def test_blank_pad_is_no_digit(client):
    response = client.post("/api/predict", data=png_bytes(np.zeros((280, 280, 4), np.uint8)), content_type="image/png")
    answer = response.get_json()
    assert response.status_code == 200
    check_reading(answer)
    assert answer["digit"] is None and answer["reason"] == "empty"
    assert answer["confidence"] == pytest.approx(0.1)


def test_low_confidence_is_uncertain(app, client, seven_png):
    app.config["UNCERTAIN_BELOW"] = 1.01  # nothing is ever that sure
    try:
        answer = client.post("/api/predict", data=seven_png, content_type="image/png").get_json()
    finally:
        app.config["UNCERTAIN_BELOW"] = 0.5
    check_reading(answer)
    assert answer["digit"] is None and answer["reason"] == "uncertain"
    assert max(answer["probabilities"]) > 0.1


def test_input_is_what_the_model_saw(client, seven_png):
    from webapp.registry import get_network

    answer = client.post("/api/predict", data=seven_png, content_type="image/png").get_json()
    image = np.array(answer["input"], dtype=np.uint8)
    with client.application.app_context():
        expected = get_network().predict(image)
    np.testing.assert_allclose(answer["probabilities"], expected, atol=1e-5)


TOO_BIG = 4 * 1024 * 1024 + 1


def huge_header_png() -> bytes:
    import struct
    import zlib

    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + header + struct.pack(">I", zlib.crc32(b"IHDR" + header))


def gif_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (28, 28)).save(buffer, "GIF")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": b"", "content_type": "image/png"}, 400, "empty-image"),
        ({"data": b"not an image at all", "content_type": "image/png"}, 415, "unsupported-image-format"),
        ({"data": b"\x89PNG\r\n\x1a\n", "content_type": "image/png"}, 400, "invalid-image"),
        ({"data": gif_bytes(), "content_type": "image/png"}, 415, "unsupported-image-format"),
        ({"data": huge_header_png(), "content_type": "image/png"}, 413, "image-too-large"),
        ({"data": b"x" * TOO_BIG, "content_type": "image/png"}, 413, "payload-too-large"),
        ({"data": b"hello", "content_type": "text/plain"}, 415, "unsupported-media-type"),
        ({"data": b"hello"}, 415, "unsupported-media-type"),
        ({"data": b"{not json", "content_type": "application/json"}, 400, "invalid-json"),
        ({"json": ["image"]}, 400, "missing-image"),
        ({"json": {"picture": "x"}}, 400, "missing-image"),
        ({"json": {"image": 12}}, 400, "missing-image"),
        ({"json": {"image": "%%% not base64 %%%"}}, 400, "invalid-base64"),
        ({"json": {"image": "data:image/jpeg;base64,AAAA"}}, 415, "unsupported-image-format"),
        ({"json": {"image": "data:image/png,rawtext"}}, 400, "invalid-data-url"),
        ({"json": {"image": ""}}, 400, "empty-image"),
        ({"multipart": {"file": b"x"}}, 400, "missing-image"),
    ],
    ids=[
        "empty-body", "garbage", "signature-only", "gif-as-png", "huge-dimensions", "body-too-large",
        "text-plain", "no-content-type", "malformed-json", "json-array", "json-no-image", "json-image-number",
        "bad-base64", "jpeg-data-url", "data-url-not-base64", "json-empty-image", "multipart-wrong-field",
    ],
)
@pytest.mark.parametrize("url", ["/api/predict", "/api/features"])
def test_bad_input_is_a_clear_json_error(client, url, kwargs, status, code, seven_png):
    if "multipart" in kwargs:
        fields = {name: (io.BytesIO(content), "a.png") for name, content in kwargs["multipart"].items()}
        kwargs = {"data": fields, "content_type": "multipart/form-data"}
    response = client.post(url, **kwargs)
    assert response.status_code == status
    assert response.is_json
    error = response.get_json()["error"]
    assert error["code"] == code and len(error["message"]) > 10
    # The worker keeps serving.
    assert client.post(url, data=seven_png, content_type="image/png").status_code == 200


@pytest.mark.parametrize(
    ("method", "url", "status", "code"),
    [("get", "/api/predict", 405, "method-not-allowed"), ("get", "/api/nothing", 404, "not-found")],
)
def test_routing_errors_are_json(client, method, url, status, code):
    response = getattr(client, method)(url)
    assert response.status_code == status and response.get_json()["error"]["code"] == code


def test_unexpected_failure_is_a_generic_json_500(app, client, monkeypatch, seven_png):
    from webapp import api

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api, "prepare", explode)
    response = client.post("/api/predict", data=seven_png, content_type="image/png")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "internal-error"
    assert "secret internals" not in body and "Traceback" not in body


def test_health_and_readiness(client):
    assert client.get("/healthz").status_code == 200
    client.post("/api/predict", data=png_bytes(np.zeros((8, 8), np.uint8)), content_type="image/png")
    response = client.get("/readyz")
    assert response.status_code == 200 and response.get_json()["status"] == "ready"


def test_readiness_is_503_until_the_model_has_loaded(small_artifacts):
    from webapp import create_app
    from webapp.registry import get_holder

    app = create_app({"TESTING": True, "ARTIFACTS_DIR": str(small_artifacts)})
    holder = get_holder(app)
    holder._started = True  # hold the load back, as if it were still running
    assert app.test_client().get("/readyz").status_code == 503
    holder._started = False
    holder.start()
    assert holder.get(timeout=60) is not None
    assert app.test_client().get("/readyz").status_code == 200


def test_missing_model_is_503_not_500(tmp_path):
    from webapp import create_app

    app = create_app({"TESTING": True, "ARTIFACTS_DIR": str(tmp_path / "missing"), "MODEL_WAIT_SECONDS": 10})
    client = app.test_client()
    seven = render(random_drawing(np.random.default_rng(1), 7))
    response = client.post("/api/predict", data=seven, content_type="image/png")
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "model-not-ready"
    assert client.get("/readyz").status_code == 503


def test_security_headers_on_every_response(client):
    for response in (client.get("/healthz"), client.get("/api/missing"), client.get("/")):
        policy = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_operator_names_the_folder_of_networks_in_full_and_nothing_else_from_the_environment(monkeypatch, tmp_path):
    from webapp import DEFAULTS, create_app

    monkeypatch.delenv("DIGIT_LENS_ARTIFACTS_DIR", raising=False)
    assert create_app().config["ARTIFACTS_DIR"] == DEFAULTS["ARTIFACTS_DIR"]
    monkeypatch.setenv("DIGIT_LENS_ARTIFACTS_DIR", str(tmp_path / "networks"))
    monkeypatch.setenv("DIGIT_LENS_DEBUG", "true")
    app = create_app()
    assert app.config["ARTIFACTS_DIR"] == str(tmp_path / "networks")
    assert app.debug is False
    monkeypatch.setenv("DIGIT_LENS_ARTIFACTS_DIR", "networks")
    with pytest.raises(ValueError, match="not an absolute path"):
        create_app()


def test_overload_is_a_503_with_retry_after(small_artifacts, seven_png):
    from webapp import create_app
    from webapp.api import _work_slots

    app = create_app({"TESTING": True, "ARTIFACTS_DIR": str(small_artifacts), "QUEUE_TIMEOUT_SECONDS": 0.05})
    client = app.test_client()
    assert client.post("/api/predict", data=seven_png, content_type="image/png").status_code == 200
    with app.app_context():
        slots = _work_slots()
    for _ in range(app.config["WORK_CONCURRENCY"]):  # every slot busy, as under a flood
        slots.acquire()
    try:
        response = client.post("/api/predict", data=seven_png, content_type="image/png")
        assert response.status_code == 503 and response.headers["Retry-After"] == "1"
        assert response.get_json()["error"]["code"] == "busy"
        assert client.get("/healthz").status_code == 200  # the health check is never queued
    finally:
        for _ in range(app.config["WORK_CONCURRENCY"]):
            slots.release()
    assert client.post("/api/predict", data=seven_png, content_type="image/png").status_code == 200


def test_requests_are_counted_for_shutdown_logs(client, seven_png):
    counts = client.application.extensions["digit_lens_requests"]
    before = counts.finished
    client.post("/api/predict", data=seven_png, content_type="image/png")
    assert counts.finished == before + 1 and counts.started == counts.finished


def test_flask_debug_environment_cannot_turn_debug_on(monkeypatch):
    from webapp import create_app

    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app()
    assert app.debug is False
    response = app.test_client().get("/api/nothing-here")
    assert response.is_json and "Traceback" not in response.get_data(as_text=True)
