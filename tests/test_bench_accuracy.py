"""bench.accuracy's client (make eval): a 503 is asked again after its Retry-After, an image that never gets
a reading is reported as unanswered and left out of the figures, and nothing crashes on either."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from bench import accuracy


def reading(digit: int) -> dict:
    probabilities = [0.0] * 10
    probabilities[digit] = 1.0
    return {"digit": digit, "probabilities": probabilities, "confidence": 1.0, "reason": None}


@pytest.fixture
def server():
    """A stand-in for /api/predict: ``script`` (a list of (status, body) consumed per request, then 200s)
    answers in order; the PNG body is the digit to read back. Yields (port, script, requests seen)."""
    script: list[tuple[int, dict]] = []
    seen: list[bytes] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                seen.append(body)
                status, answer = script.pop(0) if script else (200, reading(int(body)))
            data = json.dumps(answer).encode()
            self.send_response(status)
            if status == 503:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], script, seen
    finally:
        httpd.shutdown()
        httpd.server_close()


BUSY = (503, {"error": {"code": "busy", "message": "the server is overloaded right now; retry in a moment"}})


def test_503_is_asked_again_and_read(server):
    port, script, seen = server
    script.extend([BUSY, BUSY])
    answers = accuracy.read_all(port, [b"3", b"7"], threads=1)
    assert [answer["digit"] for answer in answers] == [3, 7]
    assert seen == [b"3", b"3", b"3", b"7"]  # the first image twice refused, then read


def test_an_image_never_read_is_reported_not_crashed(server, monkeypatch, capsys):
    port, script, seen = server
    monkeypatch.setattr(accuracy, "RETRY_FOR_SECONDS", 0.0)
    script.extend([BUSY, (500, {"error": {"code": "internal-error", "message": "x"}})])
    answers = accuracy.read_all(port, [b"1", b"2", b"4"], threads=1)
    assert answers[:2] == [{"unanswered": 503}, {"unanswered": 500}]
    assert answers[2]["digit"] == 4
    right = accuracy.report("three digits", np.array([1, 2, 4]), answers)
    printed = capsys.readouterr().out
    assert right == 1.0  # the one image read was read right; the two unanswered ones are not in the figure
    assert "read right (1/1)" in printed
    assert "UNANSWERED 2 of 3 (503 x1, 500 x1)" in printed
