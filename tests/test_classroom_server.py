"""The classroom on the real gunicorn server (2 gevent workers), on SQLite and on a real PostgreSQL:
20 concurrent clients lose no drawing, a worker killed with SIGKILL loses no acknowledged drawing,
and two servers on one PostgreSQL see the same class."""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.load import page_png
from bench.server import children, gunicorn, wait_ready
from tests.classroom_support import postgres  # noqa: F401 - fixture

CLIENTS = 20
DRAWINGS = 200
PNGS = [page_png(digit, 900 + digit) for digit in range(10)]


def server_env(url: str) -> dict[str, str]:
    """The server for these tests: no class rate limit; admission control as shipped (QUEUE_TIMEOUT_SECONDS 2 s).

    20 clients that send again the moment they are answered keep ten requests queued at each worker, so
    each waits about 20 / (drawings per second) seconds (Little's law): past 2 s whenever a busy machine
    leaves the server under 10 drawings per second, when it rightly answers 503 busy (nothing stored,
    Retry-After: 1) rather than let a student wait on. So the clients here do what the student's page
    does, send it again after a second, and the tests check what matters: every drawing is acknowledged
    in the end, and a 503 stored nothing (the ids stored are exactly the ids acknowledged).
    """
    return {"DATABASE_URL": url, "CLASSROOM_RATE_LIMIT": "100000", "GUNICORN_MAX_REQUESTS": "0"}


def call(port: int, method: str, path: str, body: bytes | None = None, token: str | None = None,
         content_type: str | None = None) -> tuple[int, dict | None]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if content_type:
        headers["Content-Type"] = content_type
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None
    finally:
        connection.close()


def open_class(port: int) -> tuple[str, str]:
    status, body = call(port, "POST", "/api/classes")
    assert status == 201, body
    return body["code"], body["teacher_token"]


def stored_ids(port: int, code: str, token: str) -> set[str]:
    ids: set[str] = set()
    offset = 0
    while True:
        status, body = call(port, "GET", f"/api/classes/{code}/drawings?offset={offset}&limit=200", token=token)
        assert status == 200, body
        ids.update(drawing["id"] for drawing in body["drawings"])
        offset += len(body["drawings"])
        if offset >= body["total"] or not body["drawings"]:
            return ids


def post_drawings(port: int, code: str, count: int, clients: int, on_progress=None,
                  resend_busy: bool = False) -> tuple[list[str], dict]:
    """``count`` drawings from ``clients`` threads; returns the acknowledged ids and every outcome's count.

    A drawing whose answer never came (its worker was killed: a connection error) is sent again, as a
    student would send it again. Any other answer but 201 is counted and not sent again, except 503
    busy with ``resend_busy`` (the load benchmark's clients honour Retry-After, as the page does).
    """
    acknowledged: list[str] = []
    outcomes: dict = {}
    lock = threading.Lock()

    def one(index: int) -> None:
        label = index % 10
        for _attempt in range(30):
            try:
                status, body = call(port, "POST", f"/api/classes/{code}/drawings?label={label}&consent=true",
                                    PNGS[label], content_type="image/png")
            except (OSError, http.client.HTTPException) as error:
                status, body = type(error).__name__, None
            with lock:
                outcome = status if status in (201, 503) or not isinstance(status, int) else (status, body)
                outcomes[str(outcome)] = outcomes.get(str(outcome), 0) + 1
                if status == 201:
                    acknowledged.append(body["id"])
                    if on_progress:
                        on_progress(len(acknowledged))
            if status == 201 or (isinstance(status, int) and not (status == 503 and resend_busy)):
                return
            time.sleep(1.0 if status == 503 else 0.05)

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(count)))
    return acknowledged, outcomes


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request, tmp_path):
    """gunicorn with 2 workers on a fresh SQLite file or PostgreSQL database: (port, master)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'classroom.sqlite3'}"
    else:
        cluster = request.getfixturevalue("postgres")
        url = cluster.url(cluster.new_database())
    with gunicorn(workers=2, extra_env=server_env(url)) as (port, master):
        wait_ready(port, workers=2)
        yield port, master


def test_concurrent_clients_lose_no_drawing_and_a_killed_worker_loses_no_acknowledged_one(server):
    port, master = server
    code, token = open_class(port)
    acknowledged, outcomes = post_drawings(port, code, DRAWINGS, CLIENTS, resend_busy=True)
    assert set(outcomes) <= {"201", "503"} and outcomes["201"] == DRAWINGS, outcomes
    assert len(set(acknowledged)) == DRAWINGS
    assert stored_ids(port, code, token) == set(acknowledged)  # a 503 busy stored nothing
    status, figures = call(port, "GET", f"/api/classes/{code}", token=token)
    assert status == 200 and figures["drawings"] == DRAWINGS and figures["per_digit"] == [DRAWINGS // 10] * 10

    # The same load again, and SIGKILL one worker once 50 drawings of it have been acknowledged.
    code, token = open_class(port)
    victim = children(master.pid)[0]
    killed = threading.Event()

    def kill_at_fifty(done: int) -> None:
        if done >= 50 and not killed.is_set():
            killed.set()
            os.kill(victim, signal.SIGKILL)

    acknowledged, outcomes = post_drawings(port, code, DRAWINGS, CLIENTS, on_progress=kill_at_fifty, resend_busy=True)
    assert killed.is_set() and victim not in children(master.pid)
    # The killed worker's connections broke (sent again); every other answer was a 201 or a 503 busy (sent again).
    assert outcomes["201"] == DRAWINGS and all(not key.isdigit() for key in set(outcomes) - {"201", "503"}), outcomes
    stored = stored_ids(port, code, token)
    assert set(acknowledged) <= stored, f"acknowledged but lost: {set(acknowledged) - stored}; outcomes {outcomes}"
    # Every drawing was acknowledged in the end (those cut off were sent again); a retry of one whose
    # answer was lost after its commit may be stored twice, never lost.
    assert len(acknowledged) == DRAWINGS, outcomes


def test_two_servers_on_one_postgresql_see_the_same_class(postgres):  # noqa: F811
    url = postgres.url(postgres.new_database())
    with gunicorn(workers=1, extra_env=server_env(url)) as (first, _), \
            gunicorn(workers=1, extra_env=server_env(url)) as (second, _):
        wait_ready(first, workers=1)
        wait_ready(second, workers=1)
        code, token = open_class(first)
        status, body = call(second, "POST", f"/api/classes/{code}/drawings?label=3&consent=true", PNGS[3],
                            content_type="image/png")
        assert status == 201, body
        status, figures = call(first, "GET", f"/api/classes/{code}", token=token)
        assert status == 200 and figures["drawings"] == 1 and figures["per_digit"][3] == 1
        assert call(first, "DELETE", f"/api/classes/{code}/drawings/{body['id']}", token=body["delete_token"])[0] == 204
        status, figures = call(second, "GET", f"/api/classes/{code}", token=token)
        assert figures["drawings"] == 0
        assert call(second, "DELETE", f"/api/classes/{code}", token=token)[0] == 204
        assert call(first, "GET", f"/api/classes/{code}", token=token)[0] == 403
