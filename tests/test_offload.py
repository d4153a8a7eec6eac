"""admission.offload: long numpy work leaves the gevent loop free for the worker's other requests.

The server is real gunicorn with one gevent worker (so every request meets
the same loop), serving the app plus two views of this module's own:
``/test/slow`` computes numpy for SLOW_SECONDS, through ``offload`` or as a
direct call, and ``/test/fails`` raises an ApiError from inside ``offload``.
While a slow request computes, readings (POST /api/predict) are sent one
after another. Through ``offload`` they are answered 200 while it is still
in flight; called directly, the loop is blocked and the reading that waited
is refused 503 "busy" (the hazard offload exists for, kept here as a control
so that the test cannot pass without offload doing its job).
"""

from __future__ import annotations

import http.client
import json
import threading
import time

import numpy as np
import pytest

from webapp.errors import ApiError

SLOW_SECONDS = 3.0
# Lower than the default 2 s, so the blocked loop's lag passes it well within SLOW_SECONDS.
QUEUE_TIMEOUT_SECONDS = 1.0


def busy_numpy(seconds: float) -> float:
    """Matrix products for ``seconds`` of wall-clock time: CPU work, no sleeping."""
    from flask import current_app

    matrix = np.random.default_rng(0).standard_normal((128, 128))
    total = 0.0
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        total += float((matrix @ matrix)[0, 0])
    # The app context came along into the pool's thread.
    return total + 0.0 * current_app.config["QUEUE_TIMEOUT_SECONDS"]


def refuse() -> None:
    raise ApiError(400, "test-refusal", "refused inside the thread pool")


def create_app():
    """The app with the two test views (gunicorn: ``tests.test_offload:create_app()``)."""
    from flask import jsonify, request

    from webapp import create_app as create_webapp
    from webapp.admission import admitted, offload

    app = create_webapp({"QUEUE_TIMEOUT_SECONDS": QUEUE_TIMEOUT_SECONDS})

    @admitted
    def slow():
        if request.args.get("offload") == "1":
            value = offload(busy_numpy, SLOW_SECONDS)
        else:
            value = busy_numpy(SLOW_SECONDS)
        return jsonify(value=value)

    def fails():
        return offload(refuse)

    app.add_url_rule("/test/slow", "test_slow", slow)
    app.add_url_rule("/test/fails", "test_fails", fails)
    return app


@pytest.fixture(scope="module")
def server():
    from bench.server import gunicorn, wait_ready

    with gunicorn(workers=1, app="tests.test_offload:create_app()") as (port, master):
        wait_ready(port, workers=1)
        yield port


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, dict, float]:
    """(status, JSON answer, the monotonic time it arrived)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Content-Type": "image/png"} if body is not None else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read()), time.monotonic()
    finally:
        connection.close()


def readings_during_a_slow_request(port: int, offloaded: bool):
    """Send /test/slow, then readings one after another until it is answered.

    Returns (the slow request's (status, answer, arrival), [(status, sent,
    arrival) of each reading]), times from time.monotonic().
    """
    from bench.load import page_png

    body = page_png()
    slow = {}

    def send_slow():
        slow["result"] = request(port, "GET", f"/test/slow?offload={int(offloaded)}")

    thread = threading.Thread(target=send_slow)
    thread.start()
    time.sleep(0.3)  # the slow request is computing by now (it has SLOW_SECONDS to go)
    readings = []
    while thread.is_alive():
        sent = time.monotonic()
        status, _, arrived = request(port, "POST", "/api/predict", body)
        readings.append((status, sent, arrived))
    thread.join()
    return slow["result"], readings


def test_readings_are_answered_while_offloaded_work_computes(server):
    (slow_status, slow_answer, slow_arrived), readings = readings_during_a_slow_request(server, offloaded=True)
    assert slow_status == 200 and np.isfinite(slow_answer["value"]), slow_answer
    statuses = [status for status, _, _ in readings]
    assert statuses and set(statuses) == {200}, statuses
    # Several readings were answered before the slow request was: the loop served them meanwhile.
    answered_during = [arrived for _, _, arrived in readings if arrived < slow_arrived]
    assert len(answered_during) >= 3, (len(answered_during), len(readings))


def test_without_offload_the_blocked_loop_refuses_the_reading_that_waited(server):
    """The control: the same work called directly holds the loop, and the reading behind it gets 503."""
    (slow_status, _, slow_arrived), readings = readings_during_a_slow_request(server, offloaded=False)
    assert slow_status == 200
    status, sent, arrived = readings[0]
    assert status == 503, readings
    # It waited for the loop, most of SLOW_SECONDS: the 503 is the blocked loop's, not some other refusal.
    assert arrived - sent > SLOW_SECONDS / 2, (sent, arrived)


def test_an_error_inside_offload_reaches_the_client_as_its_json(server):
    status, answer, _ = request(server, "GET", "/test/fails")
    assert status == 400 and answer["error"]["code"] == "test-refusal", answer


def test_off_gevent_it_is_a_direct_call_with_the_result_and_the_exception():
    from webapp.admission import offload

    caller = threading.get_ident()
    assert offload(lambda a, b=0: (a + b, threading.get_ident()), 2, b=3) == (5, caller)
    with pytest.raises(ApiError):
        offload(refuse)
