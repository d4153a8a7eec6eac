"""JSON errors: one helper, and handlers so no HTML page or traceback reaches a client."""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# On every answer, the app's and the server's own (see errors.write_server_error).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class ApiError(Exception):
    """A client error with the contract's shape: status, slug and a message saying what to do."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """``{"error": {"code", "message"}}`` with ``status``."""
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    response.headers.update(headers or {})
    return response


# Messages for werkzeug's own errors, saying what was expected.
HTTP_MESSAGES = {
    400: ("bad-request", "the request could not be read"),
    404: ("not-found", "no such URL; the API is POST /api/predict, POST /api/features, POST /api/explain, GET /api/kernels"),
    405: ("method-not-allowed", "this URL does not take that method"),
    413: ("payload-too-large", "the request body is over the size limit"),
    415: ("unsupported-media-type", "send image/png, multipart/form-data or application/json"),
}


def init_app(app: Flask) -> None:
    """Answer every error as JSON; send the security headers with every answer."""
    app.after_request(security_headers)

    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError) -> Response:
        return error_response(error.status, error.code, error.message, error.headers)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code, message = HTTP_MESSAGES.get(status, (error.name.lower().replace(" ", "-"), error.description or ""))
        if status == 413:
            message = (
                f"the request is over a size limit (body {app.config['MAX_CONTENT_LENGTH']} bytes, "
                f"{app.config['MAX_FORM_PARTS']} multipart parts, {app.config['MAX_FORM_MEMORY_SIZE']} bytes "
                "per form field); send one small PNG"
            )
        response = error_response(status, code, message)
        if status == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal-error", "the server failed to answer this request; it has been logged")


# The server's own refusals, written before any request reaches the app: the
# status gunicorn chose -> (code, what to send instead).
SERVER_ERRORS = {
    400: ("bad-request", "send a well-formed HTTP/1.1 request line and headers"),
    403: ("forbidden", "this server does not accept that from this address"),
    414: ("uri-too-long", "send a shorter URL"),
    417: ("expectation-failed", "the only Expect this server knows is 100-continue"),
    431: ("headers-too-large", "send fewer or shorter headers"),
    501: ("not-implemented", "the only transfer coding this server reads is chunked"),
}


def write_server_error(sock, status: int, reason: str, message: str) -> None:
    """Write one of gunicorn's own errors (a malformed request line or header, 414, 431, 417, 501)
    as the app's JSON error, with the app's security headers (gunicorn closes the connection after).

    gunicorn writes these as HTML from ``gunicorn.util.write_error`` and has
    no setting for their format; the gunicorn config puts this function in
    its place in each worker (tests/test_live_server.py checks it still applies).
    """
    from gunicorn.util import write_nonblock

    code, hint = SERVER_ERRORS.get(status, ("internal-error", "the server failed to read this request"))
    detail = f"{reason.lower()}: {message}" if message else reason.lower()
    body = json.dumps({"error": {"code": code, "message": f"{detail}; {hint}"}}).encode()
    headers = {"Connection": "close", "Content-Type": "application/json", "Content-Length": str(len(body)),
               **SECURITY_HEADERS}
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    write_nonblock(sock, head.encode("latin-1") + b"\r\n" + body)


def security_headers(response: Response) -> Response:
    """Add SECURITY_HEADERS to ``response`` (those it does not set itself)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
