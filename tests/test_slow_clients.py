"""Slow, stalled and silent clients against the real gunicorn server: they never starve good requests.

The server under test is the session's (webapp.gunicorn_conf, 2 workers), with
bodies due within BODY_TIMEOUT_SECONDS (3 s) so deadlines show within a test.
The attacks are the issue's (8 stalled or 1 byte/s uploads, 200 silent
connections, 50 slowloris connections), each held for 12 s, longer than every
deadline, while good requests are sent one after another. Timings are not
asserted: a good request must succeed within 10 s, which only a stall breaks
(make loadtest measures p99 under the same attacks for 30 s).
"""

from __future__ import annotations

import http.client
import json
import socket
import time

import pytest

from bench.attacks import UPLOAD_HEAD, Attack
from bench.load import page_png
from tests.conftest import BODY_TIMEOUT_SECONDS

HOLD_SECONDS = 12.0
GOOD_REQUEST_TIMEOUT = 10.0
# gunicorn_conf.keepalive: the deadline for a request's line and headers.
HEADER_DEADLINE_SECONDS = 5


def good_request(port: int, body: bytes) -> int | str:
    """One reading on a fresh connection, as a new visitor's browser sends it: its status, or what went wrong."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=GOOD_REQUEST_TIMEOUT)
    try:
        connection.request("POST", "/api/predict", body=body, headers={"Content-Type": "image/png"})
        response = connection.getresponse()
        response.read()
        return response.status
    except (TimeoutError, socket.timeout):
        return "timeout"
    except OSError as error:
        return type(error).__name__
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("kind", "count"),
    [("stalled-upload", 8), ("trickle-upload", 8), ("silent", 200), ("slowloris", 50)],
)
def test_good_requests_succeed_while_hostile_connections_are_held(gunicorn_server, kind, count):
    port, _ = gunicorn_server
    body = page_png()
    outcomes = []
    with Attack(port, kind, count) as attack:
        time.sleep(0.5)  # every hostile connection is open before the first good request
        held_at_start = attack.held
        until = time.monotonic() + HOLD_SECONDS
        while time.monotonic() < until:
            outcomes.append(good_request(port, body))
        reopened = attack.reopened
    assert held_at_start == count
    assert outcomes and set(outcomes) == {200}, outcomes
    # The server cut the hostile connections at its deadlines (and the attacker came back at once).
    assert reopened >= count, reopened


def test_a_stalled_upload_gets_a_408_at_the_body_deadline(gunicorn_server):
    port, _ = gunicorn_server
    with socket.create_connection(("127.0.0.1", port), timeout=BODY_TIMEOUT_SECONDS + 20) as connection:
        connection.sendall(UPLOAD_HEAD + b"\x00" * 10)  # 10 of the 1000 bytes announced, then nothing
        response = http.client.HTTPResponse(connection)
        response.begin()
        answer = json.loads(response.read())
    assert response.status == 408 and answer["error"]["code"] == "body-timeout", answer
    assert response.getheader("X-Content-Type-Options") == "nosniff"


CHUNKED_HEAD = (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
BODY_LIMIT = 4 * 1024 * 1024  # the app's MAX_CONTENT_LENGTH
# "At once": far inside the body deadline (3 s here), which a server that waited for the bytes would reach.
AT_ONCE_SECONDS = 2.0


@pytest.mark.parametrize(
    "sent",
    [
        b"%x\r\n" % 2**64 + b"\x89PNG",  # 2**64 bytes declared, four sent, then nothing
        b"%x\r\n" % 2**64,  # the size line alone
        b"%x\r\n" % (BODY_LIMIT + 1) + b"\x89PNG",  # one byte past the limit
        b"10\r\n" + b"\x00" * 16 + b"\r\n" + b"%x\r\n" % BODY_LIMIT + b"\x00",  # the second chunk takes it past
    ],
    ids=["2^64", "2^64-size-line-only", "limit+1", "second-chunk"],
)
def test_a_chunk_declared_past_the_limit_is_a_413_at_once(gunicorn_server, sent):
    """A declared chunk size past the body limit is known as soon as its size line arrives: the answer is a
    413 then, not a 408 at the body deadline, and the server closes the connection rather than reading on."""
    port, _ = gunicorn_server
    with socket.create_connection(("127.0.0.1", port), timeout=BODY_TIMEOUT_SECONDS + 20) as connection:
        started = time.monotonic()
        connection.sendall(CHUNKED_HEAD + sent)
        response = http.client.HTTPResponse(connection)
        response.begin()
        answer = json.loads(response.read())
        answered = time.monotonic() - started
        closed = connection.recv(1) == b""  # the client stays, silent: the server must end the connection
        ended = time.monotonic() - started
    assert response.status == 413 and answer["error"]["code"] == "payload-too-large", answer
    assert answered < AT_ONCE_SECONDS, f"answered after {answered:.2f} s"
    assert closed and ended < AT_ONCE_SECONDS, f"connection still open after {ended:.2f} s"


def test_a_huge_chunk_that_keeps_coming_is_a_413(gunicorn_server):
    port, _ = gunicorn_server
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(CHUNKED_HEAD + b"%x\r\n" % (BODY_LIMIT * 2))
        try:
            for _ in range(5 * 16):  # 5 MiB, past the 4 MiB limit
                connection.sendall(b"\x00" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading everything
        response = http.client.HTTPResponse(connection)
        response.begin()
        answer = json.loads(response.read())
    assert response.status == 413 and answer["error"]["code"] == "payload-too-large", answer


@pytest.mark.parametrize("first_bytes", [b"", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"], ids=["silent", "headers-unfinished"])
def test_a_connection_that_never_finishes_its_headers_is_closed(gunicorn_server, first_bytes):
    port, _ = gunicorn_server
    with socket.create_connection(("127.0.0.1", port), timeout=HEADER_DEADLINE_SECONDS + 20) as connection:
        connection.sendall(first_bytes)
        assert connection.recv(65536) == b""  # closed by the server, with nothing to say
