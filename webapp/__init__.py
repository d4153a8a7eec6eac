"""digit-lens: draw a digit, see a MNIST CNN read it, and look inside the network."""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.model import ARTIFACTS, DEFAULT_MODEL
from webapp.preprocess import DEFAULT_MAX_DECODED_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_MAX_SIDE

DEFAULTS: dict[str, Any] = {
    # The exported networks (one folder each) and the one served without ?model=.
    "ARTIFACTS_DIR": str(ARTIFACTS),
    "DEFAULT_MODEL": DEFAULT_MODEL,
    "MODEL_WAIT_SECONDS": 30.0,
    # LiteRT interpreters per network file and process (each single-threaded):
    # as many as the images a worker reads at once (WORK_CONCURRENCY).
    "INTERPRETERS": 2,
    # A 280x280 canvas PNG is a few kB; a 4x high-DPI one a few hundred.
    "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
    "MAX_FORM_MEMORY_SIZE": 64 * 1024,
    "MAX_FORM_PARTS": 16,
    "MAX_IMAGE_PIXELS": DEFAULT_MAX_PIXELS,
    "MAX_IMAGE_SIDE": DEFAULT_MAX_SIDE,
    "MAX_IMAGE_BYTES": DEFAULT_MAX_DECODED_BYTES,
    # Images read at once per worker; more wait, up to QUEUE_TIMEOUT_SECONDS,
    # then get 503 "busy". Two keep the CPU busy while one request does I/O.
    "WORK_CONCURRENCY": 2,
    "QUEUE_TIMEOUT_SECONDS": 2.0,
    # Below this top probability the answer is "no digit, uncertain".
    "UNCERTAIN_BELOW": 0.5,
}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _resource_dir(name: str) -> str:
    """``static`` or ``templates``: top level in a checkout, ``webapp/_<name>`` in an installed package."""
    package = Path(__file__).resolve().parent
    for folder in (package.parent / name, package / f"_{name}"):
        if folder.is_dir():
            return str(folder)
    raise RuntimeError(f"digit-lens is incompletely installed: no {name}/ folder beside {package}")


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``DIGIT_LENS_*`` environment variables, then ``test_config``."""
    app = Flask(
        __name__,
        static_folder=_resource_dir("static"),
        static_url_path="/static",
        template_folder=_resource_dir("templates"),
    )
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("DIGIT_LENS")
    # The networks are code: they are loaded only from the project's own
    # folder, never from a path an environment variable names.
    app.config["ARTIFACTS_DIR"] = DEFAULTS["ARTIFACTS_DIR"]
    app.config["DEBUG"] = False
    if test_config is not None:
        app.config.from_mapping(test_config)

    from webapp import api, errors, i18n, pages

    errors.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.before_request(_buffer_unsized_body)
    app.after_request(_security_headers)
    _count_requests(app)
    return app


class RequestCounts:
    """Requests this process has started and finished: equal when none is in flight."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = 0
        self.finished = 0

    def start(self) -> None:
        with self._lock:
            self.started += 1

    def finish(self, error: BaseException | None = None) -> None:
        with self._lock:
            self.finished += 1


def _count_requests(app: Flask) -> None:
    # gunicorn's worker_exit hook logs these, so a shutdown shows whether any request was cut off.
    counts = RequestCounts()
    app.extensions["digit_lens_requests"] = counts
    app.before_request(counts.start)
    app.teardown_request(counts.finish)


def _buffer_unsized_body() -> None:
    """Give a chunked body (no Content-Length) a known length, refusing one over MAX_CONTENT_LENGTH.

    With a Content-Length, Werkzeug refuses an over-limit body before reading
    it. Without one, its stream stops quietly at the limit, and the request
    would be read truncated. Buffer such a body, reading one byte past the
    limit to tell, so that everything after sees an ordinary sized request.
    """
    if request.content_length is not None or request.method in ("GET", "HEAD", "OPTIONS"):
        return
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    body = request.environ["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        raise RequestEntityTooLarge()
    request.environ["wsgi.input"] = io.BytesIO(body)
    request.environ["CONTENT_LENGTH"] = str(len(body))
    request.environ.pop("HTTP_TRANSFER_ENCODING", None)
    request.environ.pop("wsgi.input_terminated", None)


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response
