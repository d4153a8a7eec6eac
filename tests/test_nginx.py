"""deploy/nginx.conf, the TLS front of docs/operating.md, run by Debian's nginx in front of gunicorn.

The file is used as shipped, with only what a test machine must change replaced (each replaced text must
occur exactly once, so a config that changes shape fails here rather than going untested): the ports,
the certificate (a self-signed one for 127.0.0.1 made here, which the client verifies), and the body
deadline, shortened to the gunicorn fixture's BODY_TIMEOUT_SECONDS. The API smoke requests and the slow
clients of tests/test_slow_clients.py then go through it over TLS.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from bench.load import page_png
from bench.server import ROOT, free_port, stop
from tests.conftest import BODY_TIMEOUT_SECONDS

NGINX = "/usr/sbin/nginx"
CONFIG = ROOT / "deploy" / "nginx.conf"
HOLD_SECONDS = 8.0


def site_config(gunicorn_port: int, plain_port: int, tls_port: int, certificate: Path, key: Path) -> str:
    text = CONFIG.read_text()
    replacements = {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{gunicorn_port};",
        "listen 80;": f"listen 127.0.0.1:{plain_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{tls_port} ssl;",
        "/etc/ssl/digit-lens/fullchain.pem": str(certificate),
        "/etc/ssl/digit-lens/privkey.pem": str(key),
        "client_body_timeout 20s;": f"client_body_timeout {BODY_TIMEOUT_SECONDS}s;",
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, f"deploy/nginx.conf no longer has exactly one {old!r}"
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def nginx_front(gunicorn_server, tmp_path_factory):
    """nginx with deploy/nginx.conf in front of the session's gunicorn: (TLS port, plain port, SSL context)."""
    assert os.access(NGINX, os.X_OK), "Debian's nginx is missing: make nginx"
    folder = tmp_path_factory.mktemp("nginx")
    os.chmod(folder, 0o755)
    certificate, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )
    plain_port, tls_port = free_port(), free_port()
    (folder / "digit-lens.conf").write_text(site_config(gunicorn_server[0], plain_port, tls_port, certificate, key))
    temp = {name: folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    (folder / "nginx.conf").write_text(f"""
{"user root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {folder}/digit-lens.conf;
}}
""")
    process = subprocess.Popen([NGINX, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(folder / "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    context = ssl.create_default_context(cafile=str(certificate))
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", tls_port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {process.stderr.read().decode()} "
                                       f"{(folder / 'error.log').read_text()}") from None
                time.sleep(0.05)
        yield tls_port, plain_port, context
    finally:
        stop(process, signal.SIGQUIT, timeout=10)  # SIGQUIT: nginx's graceful stop
        shutil.rmtree(folder, ignore_errors=True)


def https(front, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """One request on a fresh TLS connection: (response, body bytes)."""
    tls_port, _, context = front
    connection = http.client.HTTPSConnection("127.0.0.1", tls_port, context=context, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def multipart(png: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"d.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + png + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_api_smoke_through_tls(nginx_front):
    png = page_png(digit=5)
    response, body = https(nginx_front, "GET", "/healthz")
    assert response.status == 200
    response, body = https(nginx_front, "GET", "/readyz")
    assert response.status == 200
    response, body = https(nginx_front, "GET", "/api/models")
    models = json.loads(body)
    assert response.status == 200 and models["default"] == "digit-lens" and len(models["models"]) >= 5

    form, form_type = multipart(png)
    as_json = json.dumps({"image": "data:image/png;base64," + base64.b64encode(png).decode()}).encode()
    for payload, content_type in ((png, "image/png"), (form, form_type), (as_json, "application/json")):
        response, body = https(nginx_front, "POST", "/api/predict", payload, {"Content-Type": content_type})
        answer = json.loads(body)
        assert response.status == 200 and answer["digit"] == 5, (content_type, answer)
        assert len(answer["probabilities"]) == 10 and len(answer["input"]) == 28
        assert response.getheader("Strict-Transport-Security") == "max-age=31536000"
        assert response.getheader("X-Content-Type-Options") == "nosniff"

    response, body = https(nginx_front, "POST", "/api/features?model=lenet", png, {"Content-Type": "image/png"})
    answer = json.loads(body)
    assert response.status == 200 and answer["digit"] == 5 and answer["layers"][0]["kind"] == "InputLayer"
    response, body = https(nginx_front, "GET", "/api/kernels?model=lenet")
    assert response.status == 200 and json.loads(body)["layers"]
    response, body = https(nginx_front, "GET", "/")
    assert response.status == 200 and b"<html" in body and "default-src" in response.getheader("Content-Security-Policy")

    # The app's own errors come through unchanged.
    response, body = https(nginx_front, "POST", "/api/predict", b"not a png", {"Content-Type": "image/png"})
    assert response.status in (400, 415) and json.loads(body)["error"]["code"], body
    response, body = https(nginx_front, "POST", "/api/predict?model=nope", png, {"Content-Type": "image/png"})
    assert response.status == 404 and json.loads(body)["error"]["code"] == "unknown-model"


def test_request_ids_pass_through_the_proxy(nginx_front):
    response, _ = https(nginx_front, "GET", "/healthz", headers={"X-Request-ID": "client-abc.1"})
    assert response.getheader("X-Request-ID") == "client-abc.1"
    response, _ = https(nginx_front, "GET", "/healthz")
    assert len(response.getheader("X-Request-ID")) == 32  # nginx's $request_id, kept by the app


def test_plain_http_is_sent_to_https(nginx_front):
    _, plain_port, _ = nginx_front
    connection = http.client.HTTPConnection("127.0.0.1", plain_port, timeout=10)
    connection.request("GET", "/api/models", headers={"Host": "digit-lens.example.org"})
    response = connection.getresponse()
    connection.close()
    assert response.status == 301 and response.getheader("Location") == "https://digit-lens.example.org/api/models"


def test_metrics_are_for_this_machine_only(nginx_front):
    response, _ = https(nginx_front, "GET", "/metrics")  # the test client is on this machine: allowed
    assert response.status == 200


def test_bodies_over_the_limit_are_a_json_413_at_once(nginx_front):
    started = time.monotonic()
    response, body = https(nginx_front, "POST", "/api/predict", b"\x00" * (4 * 2**20 + 1), {"Content-Type": "image/png"})
    assert response.status == 413 and json.loads(body)["error"]["code"] == "payload-too-large"
    assert time.monotonic() - started < 10


def tls_socket(front) -> ssl.SSLSocket:
    tls_port, _, context = front
    raw = socket.create_connection(("127.0.0.1", tls_port), timeout=BODY_TIMEOUT_SECONDS + 20)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def test_a_chunk_declared_past_the_limit_is_a_413_at_once(nginx_front):
    head = (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    with tls_socket(nginx_front) as connection:
        started = time.monotonic()
        connection.sendall(head + b"%x\r\n" % (4 * 2**20 + 1) + b"\x89PNG")
        response = http.client.HTTPResponse(connection)
        response.begin()
        answer = json.loads(response.read())
    assert response.status == 413 and answer["error"]["code"] == "payload-too-large", answer
    assert time.monotonic() - started < BODY_TIMEOUT_SECONDS / 2


def test_good_requests_succeed_while_slow_clients_hold_connections(nginx_front):
    """8 uploads stalled after 10 of 1,000 bytes and 50 connections silent after the TLS handshake, held
    for longer than the body deadline, while readings are sent one after another on fresh connections."""
    png = page_png()
    head = (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            b"Content-Length: 1000\r\n\r\n")
    hostile = []
    try:
        for index in range(58):
            connection = tls_socket(nginx_front)
            if index < 8:
                connection.sendall(head + b"\x00" * 10)
            hostile.append(connection)
        outcomes = []
        until = time.monotonic() + HOLD_SECONDS
        while time.monotonic() < until:
            try:
                response, _ = https(nginx_front, "POST", "/api/predict", png, {"Content-Type": "image/png"})
                outcomes.append(response.status)
            except OSError as error:
                outcomes.append(type(error).__name__)
        assert outcomes and set(outcomes) == {200}, outcomes
        # The stalled uploads were ended at the body deadline, not passed to gunicorn to hold a worker.
        for connection in hostile[:8]:
            connection.settimeout(5)
            try:
                data = connection.recv(65536)
            except (ssl.SSLError, OSError):
                data = b""
            assert data == b"" or data.startswith(b"HTTP/1.1 408"), data[:80]
    finally:
        for connection in hostile:
            connection.close()
