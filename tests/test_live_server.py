"""The real gunicorn server: body limits on the wire (chunked too), and generated junk that never restarts a worker."""

from __future__ import annotations

import http.client
import json
import socket

import numpy as np
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


def chunked(body: bytes, size: int = 65536) -> list[bytes]:
    pieces = [b"%x\r\n%s\r\n" % (len(body[at : at + size]), body[at : at + size]) for at in range(0, len(body), size)]
    return [*pieces, b"0\r\n\r\n"]


def test_body_over_the_limit_with_content_length(gunicorn_server):
    port, _ = gunicorn_server
    body = b"\x00" * (LIMIT + 1)
    head = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n" % len(body)
    status, answer = raw_request(port, head, [body])
    assert status == 413 and answer["error"]["code"] == "payload-too-large"


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
