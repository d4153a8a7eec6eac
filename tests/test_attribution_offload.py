"""POST /api/attribution computes its maps off the gevent loop (``admission.offload``).

Real gunicorn, one gevent worker, so every request meets the same loop.
Integrated Gradients for all five networks at 256 steps is seconds of numpy
on this machine; while it computes, readings (POST /api/predict) are sent one
after another. They are answered 200 before the attribution is: the loop
served them meanwhile. Called directly, the first reading would wait behind
the whole computation (test_offload.py keeps that control for offload itself).
"""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest

from bench.load import page_png
from tests.conftest import SERVED_NETWORKS


HEAVY = "/api/attribution?method=integrated-gradients&steps=256&compare=1"


@pytest.fixture(scope="module")
def server():
    from bench.server import gunicorn, wait_ready

    with gunicorn(workers=1) as (port, _):
        wait_ready(port, workers=1)
        yield port


def post(port: int, path: str, body: bytes) -> tuple[int, dict, float]:
    """(status, JSON answer, the monotonic time it arrived)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "image/png"})
        response = connection.getresponse()
        return response.status, json.loads(response.read()), time.monotonic()
    finally:
        connection.close()


def test_readings_are_answered_while_integrated_gradients_computes(server):
    body = page_png()
    heavy = {}

    def send_heavy():
        heavy["result"] = post(server, HEAVY, body)

    thread = threading.Thread(target=send_heavy)
    thread.start()
    time.sleep(0.3)  # the attribution is computing by now
    readings = []
    while thread.is_alive():
        status, _, arrived = post(server, "/api/predict", body)
        readings.append((status, arrived))
    thread.join()
    status, answer, heavy_arrived = heavy["result"]
    assert status == 200, answer
    # It did the work the test relies on: every served network (the five, and any imported one), Integrated
    # Gradients with its completeness check.
    assert [entry["method"] for entry in answer["compare"]] == ["integrated-gradients"] * len(SERVED_NETWORKS)
    assert all(entry["completeness"]["steps"] >= 256 for entry in answer["compare"]), answer["compare"]
    assert [status for status, _ in readings] == [200] * len(readings), readings
    answered_during = [arrived for _, arrived in readings if arrived < heavy_arrived]
    assert len(answered_during) >= 3, (len(answered_during), len(readings))
