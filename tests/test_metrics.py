"""/metrics (Prometheus text format, every gunicorn worker counted), request ids and JSON access logs."""

from __future__ import annotations

import http.client
import io
import json
import re
import socket
import threading

import pytest
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from bench.attacks import UPLOAD_HEAD
from bench.load import page_png
from tests.conftest import BODY_TIMEOUT_SECONDS


def scrape(port: int, headers: dict[str, str] | None = None) -> tuple[int, dict[tuple[str, tuple], float], str]:
    """GET /metrics on a fresh connection: status, {(sample name, sorted labels): value}, content type."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/metrics", headers=headers or {})
        response = connection.getresponse()
        text = response.read().decode()
    finally:
        connection.close()
    samples = {}
    if response.status == 200:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return response.status, samples, response.getheader("Content-Type", "")


def post(port: int, path: str, body: bytes, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "image/png", **(headers or {})})
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def worker_pids(samples: dict) -> set[str]:
    return {dict(labels)["pid"] for name, labels in samples if name == "digit_lens_worker_resident_bytes"}


def test_metrics_count_every_worker(gunicorn_server):
    """Readings sent over fresh connections land on both workers; whichever worker answers a scrape
    reports all of them (each worker alone would report only its share)."""
    port, _ = gunicorn_server
    body = page_png()
    status, before, content_type = scrape(port)
    assert status == 200 and content_type.startswith("text/plain; version="), (status, content_type)
    sent = 0
    errors: list[int] = []

    def send(count: int) -> None:
        for _ in range(count):
            status = post(port, "/api/predict?model=lenet", body).status
            if status != 200:
                errors.append(status)

    # Concurrent clients on fresh connections, until both workers have answered some (their memory gauges).
    for _ in range(10):
        threads = [threading.Thread(target=send, args=(5,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sent += 20
        if len(worker_pids(scrape(port)[1])) == 2:
            break
    assert errors == []
    for _ in range(6):  # several scrapes, on fresh connections: each worker answers some of them
        status, after, _ = scrape(port)
        assert len(worker_pids(after)) == 2, worker_pids(after)
        requests = (value(after, "digit_lens_requests_total", endpoint="/api/predict", method="POST", status="200")
                    - value(before, "digit_lens_requests_total", endpoint="/api/predict", method="POST", status="200"))
        readings = sum(value(after, "digit_lens_readings_total", network="lenet", answer=answer)
                       - value(before, "digit_lens_readings_total", network="lenet", answer=answer)
                       for answer in ("digit", "empty", "not-a-digit", "uncertain"))
        latency = (value(after, "digit_lens_request_duration_seconds_count", endpoint="/api/predict")
                   - value(before, "digit_lens_request_duration_seconds_count", endpoint="/api/predict"))
        assert requests == readings == latency == sent, (requests, readings, latency, sent)
        for pid in worker_pids(after):
            assert 20 * 2**20 < value(after, "digit_lens_worker_resident_bytes", pid=pid) < 2**30


def test_errors_empty_answers_and_body_timeouts_are_counted(gunicorn_server):
    port, _ = gunicorn_server
    _, before, _ = scrape(port)
    assert post(port, "/api/predict", b"not a png").status == 415  # not an image: unsupported media
    buffer = io.BytesIO()
    Image.new("L", (280, 280), 255).save(buffer, "PNG")  # a blank canvas: "empty"
    blank = buffer.getvalue()
    assert post(port, "/api/predict?model=torch-net", blank).status == 200
    with socket.create_connection(("127.0.0.1", port), timeout=BODY_TIMEOUT_SECONDS + 20) as connection:
        connection.sendall(UPLOAD_HEAD + b"\x00" * 10)
        response = http.client.HTTPResponse(connection)
        response.begin()
        response.read()
    assert response.status == 408
    _, after, _ = scrape(port)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("digit_lens_requests_total", endpoint="/api/predict", method="POST", status="415") == 1
    assert delta("digit_lens_readings_total", network="torch-net", answer="empty") == 1
    assert delta("digit_lens_body_timeouts_total") == 1
    assert delta("digit_lens_requests_total", endpoint="/api/predict", method="POST", status="408") == 1
    assert ("digit_lens_shed_total", ()) in after  # present from the start, at 0 unless a request was shed


def test_metrics_can_be_turned_off_or_put_behind_a_token(small_artifacts):
    from webapp import create_app

    off = create_app({"TESTING": True, "ARTIFACTS_DIR": str(small_artifacts), "METRICS": False}).test_client()
    answer = off.get("/metrics")
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not-found"

    guarded = create_app({"TESTING": True, "ARTIFACTS_DIR": str(small_artifacts), "METRICS_TOKEN": "s3cret"})
    client = guarded.test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
        answer = client.get("/metrics", headers=headers)
        assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "unauthorized", headers
    answer = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert answer.status_code == 200 and b"digit_lens_requests_total" in answer.data


def test_shed_requests_are_counted(client):
    from webapp import metrics

    def shed_total() -> float:
        return metrics.SHED._value.get()

    before = shed_total()
    client.application.config["QUEUE_TIMEOUT_SECONDS"] = 0.0
    from webapp.admission import _work_slots

    with client.application.app_context():
        slots = _work_slots()
        taken = 0
        while slots.acquire(blocking=False):
            taken += 1
    try:
        answer = client.post("/api/predict", data=page_png(), content_type="image/png")
    finally:
        for _ in range(taken):
            slots.release()
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "busy"
    assert shed_total() == before + 1


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("req-42.a:b_c", True), ("x" * 128, True), ("x" * 129, False), ("has space", False), ("", False),
     ("<script>", False)],
)
def test_request_id_is_the_clients_when_sane(client, sent, kept):
    answer = client.get("/healthz", headers={"X-Request-ID": sent})
    returned = answer.headers["X-Request-ID"]
    if kept:
        assert returned == sent
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", returned), returned


def test_every_answer_carries_a_request_id_errors_included(client):
    ids = {client.get(path).headers.get("X-Request-ID") for path in ("/healthz", "/no-such-page", "/api/models")}
    assert None not in ids and len(ids) == 3


def test_json_access_log_lines_carry_the_request_id(tmp_path):
    from bench.server import gunicorn, wait_ready

    log = tmp_path / "access.log"
    with gunicorn(workers=1, extra_env={"LOG_FORMAT": "json", "ACCESS_LOG": str(log)}) as (port, _):
        wait_ready(port, workers=1)
        assert post(port, "/api/predict", page_png(), {"X-Request-ID": "client-7f3a"}).status == 200
        answer = post(port, "/api/predict", b"not a png", {"X-Request-ID": "bad id"})
        assert answer.status == 415
        made = answer.getheader("X-Request-ID")
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]  # every line is JSON
    posts = [line for line in lines if line["method"] == "POST"]
    assert [(line["request_id"], line["status"], line["path"]) for line in posts] == [
        ("client-7f3a", 200, "/api/predict"), (made, 415, "/api/predict")]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert all(line["duration_ms"] >= 0 and line["bytes"] > 0 and line["pid"] > 0 for line in posts)
