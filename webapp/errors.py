"""JSON errors: one helper, and handlers so no HTML page or traceback reaches a client."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


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
    """Answer every error as JSON."""

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
