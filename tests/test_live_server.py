"""The real gunicorn server: body limits and broken framing on the wire (chunked too), uploads as browsers
send them, and generated junk that never restarts a worker."""

from __future__ import annotations

import http.client
import io
import json
import socket
import time

import numpy as np
import pytest
from PIL import Image
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.server import children
from tests import pngs

LIMIT = 4 * 1024 * 1024


def raw_request(port: int, head: bytes, chunks: list[bytes]) -> tuple[int, dict]:
    """Send a request by hand (so the body can be chunked) and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(head)
        try:
            for piece in chunks:
                connection.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything: that is fine
        response = http.client.HTTPResponse(connection)
        response.begin()
        return response.status, json.loads(response.read())


def answer_to_a_cut_request(port: int, request: bytes) -> tuple[int, dict]:
    """Send ``request`` and close the sending side, as a client that stops half-way does; read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(connection)
        response.begin()
        return response.status, json.loads(response.read())


def chunked(body: bytes, size: int = 65536) -> list[bytes]:
    pieces = [b"%x\r\n%s\r\n" % (len(body[at : at + size]), body[at : at + size]) for at in range(0, len(body), size)]
    return [*pieces, b"0\r\n\r\n"]


def test_body_over_the_limit_with_content_length(gunicorn_server):
    port, _ = gunicorn_server
    body = b"\x00" * (LIMIT + 1)
    head = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n" % len(body)
    status, answer = raw_request(port, head, [body])
    assert status == 413 and answer["error"]["code"] == "payload-too-large"


@pytest.mark.parametrize("declared", [LIMIT + 1, 2 * LIMIT])
def test_a_413_for_content_length_leaves_the_connection_usable_at_once(gunicorn_server, declared):
    """After the 413 the same connection answers its next request at once: gunicorn used to discard the
    refused body 1 KiB at a time, copying its read-ahead buffer each time, and a 4 MiB body held the
    worker's CPU until its heartbeat killed it (the next request waited 30 s, then the connection died)."""
    port, _ = gunicorn_server
    head = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n" % declared
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(head + b"\x00" * declared)
        first = http.client.HTTPResponse(connection)
        first.begin()
        assert first.status == 413 and json.loads(first.read())["error"]["code"] == "payload-too-large"
        started = time.monotonic()
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        second = http.client.HTTPResponse(connection)
        second.begin()
        second.read()
        assert second.status == 200 and time.monotonic() - started < 5


def test_a_413_for_an_absurd_content_length_closes_the_connection(gunicorn_server):
    """A declared 1 TB is not read at all: the 413, then the server ends the connection at once."""
    port, _ = gunicorn_server
    head = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n" % 10**12
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        started = time.monotonic()
        connection.sendall(head + b"\x89PNG")
        response = http.client.HTTPResponse(connection)
        response.begin()
        assert response.status == 413 and json.loads(response.read())["error"]["code"] == "payload-too-large"
        assert connection.recv(1) == b"" and time.monotonic() - started < 5


def test_body_over_the_limit_chunked_is_not_truncated_into_a_200(gunicorn_server):
    port, _ = gunicorn_server
    seven = pngs.grey_png(np.full((28, 28), 255, dtype=np.uint8))
    body = seven + b"\x00" * LIMIT  # a valid PNG first: a silent truncation would read it
    head = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n"
    status, answer = raw_request(port, head, chunked(body))
    assert status == 413 and answer["error"]["code"] == "payload-too-large"


def test_small_chunked_body_is_read(gunicorn_server):
    port, _ = gunicorn_server
    digit = np.zeros((80, 80), dtype=np.uint8)
    digit[10:70, 36:44] = 255
    head = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n"
    status, answer = raw_request(port, head, chunked(pngs.grey_png(digit), size=100))
    assert status == 200 and len(answer["input"]) == 28, answer


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.one_of(st.binary(max_size=3000), st.binary(max_size=200).map(lambda tail: pngs.SIGNATURE + tail)),
    content_type=st.sampled_from(["image/png", "application/json", "multipart/form-data; boundary=b", "text/plain"]),
    path=st.sampled_from(["/api/predict", "/api/features"]),
)
def test_generated_junk_never_5xx_nor_restarts_a_worker(gunicorn_server, body, content_type, path):
    port, master = gunicorn_server
    workers = children(master.pid)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", path, body=body, headers={"Content-Type": content_type})
    response = connection.getresponse()
    payload = json.loads(response.read())
    connection.close()
    assert response.status < 500, payload
    assert children(master.pid) == workers


def test_multipart_over_the_limit_chunked(gunicorn_server):
    port, _ = gunicorn_server
    image = pngs.grey_png(np.full((28, 28), 255, dtype=np.uint8))
    body = (b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"
            + image + b"\r\n--b\r\nContent-Disposition: form-data; name=\"pad\"; filename=\"pad.bin\"\r\n\r\n"
            + b"\x00" * LIMIT + b"\r\n--b--\r\n")
    head = (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    status, answer = raw_request(port, head, chunked(body))
    assert status == 413 and answer["error"]["code"] == "payload-too-large"


CHUNKED_HEAD = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\nhello\r\n0\r\n\r\n",  # not hexadecimal
        b"-5\r\nhello\r\n0\r\n\r\n",  # negative
        b"5\r\nhelloXX0\r\n\r\n",  # no CRLF after the chunk's data
        b"5;\x01=\x02\r\nhello\r\n0\r\n\r\n",  # a malformed chunk extension
        b"100\r\n" + b"\x00" * 10,  # cut inside a chunk
        b"5\r\nhello\r\n",  # cut before the last chunk
        b"5\r\nhello\r\n0\r\n",  # cut before the end of the trailers
    ],
    ids=["size-zz", "size-negative", "no-chunk-terminator", "bad-extension", "cut-in-chunk", "cut-before-last",
         "cut-in-trailers"],
)
def test_malformed_chunked_bodies_are_a_400(gunicorn_server, body):
    port, master = gunicorn_server
    workers = children(master.pid)
    status, answer = answer_to_a_cut_request(port, CHUNKED_HEAD + body)
    assert status == 400 and answer["error"]["code"] == "invalid-body", answer
    assert children(master.pid) == workers


def test_body_shorter_than_its_content_length_is_a_400(gunicorn_server):
    port, _ = gunicorn_server
    head = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n"
    status, answer = answer_to_a_cut_request(port, head + pngs.SIGNATURE)
    assert status == 400 and answer["error"]["code"] == "invalid-body", answer


def browser_multipart(image: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """The body and Content-Type a browser's FormData sends for one file field."""
    boundary = "----WebKitFormBoundary" + "".join(rng.choice(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij0123456789"), 16))
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"digit.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + image + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_multipart_uploads_up_to_the_body_limit_are_read(gunicorn_server):
    """20 ordinary PNGs of ~350 KB, as browsers upload them (once 13 in 20 were refused with a 413)."""
    port, _ = gunicorn_server
    rng = np.random.default_rng(10)
    statuses = []
    for _ in range(20):
        noise = rng.integers(0, 256, (340, 340, 3), dtype=np.uint8)
        noise[60:280, 150:190] = 0  # a dark stroke on the noise
        buffer = io.BytesIO()
        Image.fromarray(noise).save(buffer, "PNG")
        body, content_type = browser_multipart(buffer.getvalue(), rng)
        assert len(body) > 300_000
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/api/predict", body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        answer = json.loads(response.read())
        connection.close()
        statuses.append(response.status if response.status != 200 else len(answer["input"]))
    assert statuses == [28] * 20, statuses


@pytest.mark.parametrize("path", ["/static//css/app.css", "//", "/api//kernels", "/layers/"])
def test_no_redirect_is_built_from_the_host_header(gunicorn_server, path):
    port, _ = gunicorn_server
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers={"Host": "evil.example"})
    response = connection.getresponse()
    response.read()
    connection.close()
    assert not 300 <= response.status < 400, (response.status, response.getheader("Location"))
    assert "evil" not in (response.getheader("Location") or "")


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GARBAGE\r\n\r\n", 400, "bad-request"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", 400, "bad-request"),
        (b"GET / HTTP/7.1\r\nHost: x\r\n\r\n", 400, "bad-request"),
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri-too-long"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(60)) + b"\r\n", 431,
         "headers-too-large"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431, "headers-too-large"),
        (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 3\r\n\r\nabc", 417,
         "expectation-failed"),
        (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: br, chunked\r\n\r\n0\r\n\r\n", 501,
         "not-implemented"),
    ],
    ids=["request-line", "header-name", "http-version", "uri-too-long", "too-many-headers", "header-too-long",
         "expectation", "transfer-coding"],
)
def test_errors_the_server_writes_itself_are_json_with_the_security_headers(gunicorn_server, request_bytes, status,
                                                                             code):
    port, _ = gunicorn_server
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request_bytes)
        response = http.client.HTTPResponse(connection)
        response.begin()
        body = response.read()
    assert response.status == status, body
    assert response.getheader("Content-Type") == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == code and error["message"]
    assert "frame-ancestors 'none'" in response.getheader("Content-Security-Policy")
    assert response.getheader("X-Content-Type-Options") == "nosniff"
