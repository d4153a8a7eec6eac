"""digit-lens: draw a digit, see a MNIST CNN read it, and look inside the network."""

from __future__ import annotations

import contextlib
import io
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import Map

from webapp.errors import ApiError
from webapp.model import ARTIFACTS, DEFAULT_MODEL
from webapp.preprocess import DEFAULT_MAX_DECODED_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_MAX_SIDE

DEFAULTS: dict[str, Any] = {
    # The exported networks (one folder each) and the one served without ?model=.
    "ARTIFACTS_DIR": str(ARTIFACTS),
    "DEFAULT_MODEL": DEFAULT_MODEL,
    "MODEL_WAIT_SECONDS": 30.0,
    # LiteRT interpreters per network file and process, each single-threaded
    # and lent to one request at a time. One: a call takes ~0.1 ms of a ~1.3 ms
    # request, so two requests rarely wait for each other, while a second
    # interpreter per file cost 8-11 MiB per worker (measured, README).
    "INTERPRETERS": 1,
    # A 280x280 canvas PNG is a few kB; a 4x high-DPI one a few hundred.
    "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
    # Werkzeug applies this to its multipart buffer, which holds one 64 KiB
    # read plus up to a boundary's length left over from the last: at 64 KiB,
    # file parts were refused whenever a line break fell near a read's end.
    # It must stay above 64 KiB + the longest boundary (70 bytes, RFC 2046).
    "MAX_FORM_MEMORY_SIZE": 128 * 1024,
    "MAX_FORM_PARTS": 16,
    "MAX_IMAGE_PIXELS": DEFAULT_MAX_PIXELS,
    "MAX_IMAGE_SIDE": DEFAULT_MAX_SIDE,
    "MAX_IMAGE_BYTES": DEFAULT_MAX_DECODED_BYTES,
    # Images read at once per worker; more wait, up to QUEUE_TIMEOUT_SECONDS,
    # then get 503 "busy". Two keep the CPU busy while one request does I/O.
    "WORK_CONCURRENCY": 2,
    "QUEUE_TIMEOUT_SECONDS": 2.0,
    # A request body must have arrived this long after its headers, or the
    # answer is 408 (enforced where the server runs on gevent; see gunicorn_conf).
    "BODY_TIMEOUT_SECONDS": 20.0,
    # Below this top probability the answer is "no digit, uncertain".
    "UNCERTAIN_BELOW": 0.5,
}

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


def _resource_dir(name: str) -> str:
    """``static`` or ``templates``: top level in a checkout, ``webapp/_<name>`` in an installed package."""
    package = Path(__file__).resolve().parent
    for folder in (package.parent / name, package / f"_{name}"):
        if folder.is_dir():
            return str(folder)
    raise RuntimeError(f"digit-lens is incompletely installed: no {name}/ folder beside {package}")


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``DIGIT_LENS_*`` environment variables, then ``test_config``."""
    app = _Flask(
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

    from webapp import api, errors, i18n, pages, testset

    errors.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(testset.bp)
    _count_requests(app)  # first, so that every request that ends was counted as started
    app.before_request(_read_body)
    app.after_request(_security_headers)
    return app


class _Routes(Map):
    """URL routing that never answers with a redirect.

    Werkzeug redirects ``/static//app.css`` to ``/static/app.css`` (and a URL
    missing a rule's trailing slash to one with it) with an absolute Location
    built from the request's Host header: any Host a client sends came back
    as a redirect target. No URL of this app needs either, so such a URL is a
    plain 404.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(merge_slashes=False, strict_slashes=False, redirect_defaults=False)
        super().__init__(*args, **kwargs)


class _Flask(Flask):
    url_map_class = _Routes


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


def _read_body() -> None:
    """Read the whole request body before any view runs, within a deadline and the size limit.

    A view then holds a work slot only for work, never while a slow or
    stalled client is still sending. A body over MAX_CONTENT_LENGTH is a 413
    (one sent chunked, with no Content-Length, too: Werkzeug's stream would
    stop quietly at the limit and the view would read it truncated); one that
    does not arrive within BODY_TIMEOUT_SECONDS is a 408; a malformed chunked
    body or a connection that ends early is a 400. Everything after sees an
    ordinary request whose body is in memory.
    """
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    length = request.content_length
    if length is not None and length > limit:
        raise RequestEntityTooLarge()
    stream = request.environ["wsgi.input"]
    try:
        with _deadline(float(current_app.config["BODY_TIMEOUT_SECONDS"])):
            body = stream.read(limit + 1 if length is None else length)
    except BodyTimeout:
        raise ApiError(
            408, "body-timeout",
            f"the request body did not arrive within {current_app.config['BODY_TIMEOUT_SECONDS']:g} s of its "
            "headers; send the whole request at once",
        ) from None
    except Exception:  # noqa: BLE001 - the server's reader says how the framing was broken, in its own classes
        raise ApiError(
            400, "invalid-body",
            "the request body could not be read: its chunked encoding is malformed or the connection ended "
            "before the body did; send a complete body with Content-Length or valid chunked encoding",
        ) from None
    if len(body) > limit:
        raise RequestEntityTooLarge()
    if length is not None and len(body) < length:
        raise ApiError(400, "invalid-body", f"the connection ended after {len(body)} of the {length} bytes "
                       "Content-Length announced; send the whole body")
    request.environ["wsgi.input"] = io.BytesIO(body)
    request.environ["CONTENT_LENGTH"] = str(len(body))
    request.environ.pop("HTTP_TRANSFER_ENCODING", None)
    request.environ.pop("wsgi.input_terminated", None)


class BodyTimeout(Exception):
    """The request body did not arrive in time."""


def _deadline(seconds: float) -> contextlib.AbstractContextManager:
    """Raise BodyTimeout in this request after ``seconds``: on gevent, where a
    waiting read can be interrupted; elsewhere (tests, a threaded server) no limit."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("socket"):
        import gevent

        return gevent.Timeout(seconds, BodyTimeout)
    return contextlib.nullcontext()


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
