"""digit-lens: draw a digit, see a MNIST CNN read it, and look inside the network."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import Map

from webapp.artifacts import ARTIFACTS, DEFAULT_MODEL
from webapp.errors import SECURITY_HEADERS  # noqa: F401 - importable from here, as before

DEFAULTS: dict[str, Any] = {
    # The exported networks (one folder each) and the one served without ?model=.
    "ARTIFACTS_DIR": str(ARTIFACTS),
    "DEFAULT_MODEL": DEFAULT_MODEL,
    "MODEL_WAIT_SECONDS": 30.0,
    # LiteRT interpreters per network file and process, each single-threaded
    # and lent to one request at a time. One: a call takes ~0.1 ms of a ~1.3 ms
    # request, so two requests rarely wait for each other, while a second
    # interpreter per file cost 8-11 MiB per worker (measured, docs/figures.md).
    "INTERPRETERS": 1,
    # A 280x280 canvas PNG is a few kB; a 4x high-DPI one a few hundred.
    "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
    # Werkzeug applies this to its multipart buffer, which holds one 64 KiB
    # read plus up to a boundary's length left over from the last: at 64 KiB,
    # file parts were refused whenever a line break fell near a read's end.
    # It must stay above 64 KiB + the longest boundary (70 bytes, RFC 2046).
    "MAX_FORM_MEMORY_SIZE": 128 * 1024,
    "MAX_FORM_PARTS": 16,
    # MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, MAX_IMAGE_BYTES: webapp.preprocess's defaults, set in create_app
    # (importing it here would load numpy into gunicorn's master, before gunicorn_conf limits its threads).
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

def artifacts_dir(configured: str | None) -> str:
    """The folder of networks to serve: the operator's ``DIGIT_LENS_ARTIFACTS_DIR``, else the project's own.

    The networks are code (LiteRT files the interpreter runs), so their folder
    is as trusted as the code: it is named only by the operator, in the
    server's environment, read once here at start; no request ever names a
    path (``?model=`` picks among the folders found in it). It must be an
    absolute path, so that the server does not depend on where it was started.
    Only the operator writes it (``make import``); the server only reads it.
    """
    if not configured:
        return DEFAULTS["ARTIFACTS_DIR"]
    if not os.path.isabs(configured):
        raise ValueError(
            f"DIGIT_LENS_ARTIFACTS_DIR={configured!r} is not an absolute path; name the operator's folder of "
            "networks in full, e.g. /srv/digit-lens/networks (see docs/import.md)"
        )
    return configured


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
    from webapp.preprocess import DEFAULT_MAX_DECODED_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_MAX_SIDE

    app.config.from_mapping(
        MAX_IMAGE_PIXELS=DEFAULT_MAX_PIXELS, MAX_IMAGE_SIDE=DEFAULT_MAX_SIDE, MAX_IMAGE_BYTES=DEFAULT_MAX_DECODED_BYTES
    )
    app.config.from_prefixed_env("DIGIT_LENS")
    app.config["ARTIFACTS_DIR"] = artifacts_dir(os.environ.get("DIGIT_LENS_ARTIFACTS_DIR"))
    app.config["DEBUG"] = False
    if test_config is not None:
        app.config.from_mapping(test_config)

    from webapp import admission, api, checkpoints_api, classroom, errors, i18n, learn, logs, metrics, pages, testset
    from webapp import why

    logs.init_app(app)  # first: every answer, errors included, carries its X-Request-ID
    errors.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(testset.bp)
    app.register_blueprint(why.bp)  # the attribution maps: /why and POST /api/attribution
    app.register_blueprint(learn.bp)  # the learning page: /learn, POST /api/learn, /api/learn/explain
    metrics.init_app(app)  # before admission's body reading, so a request's time includes its body's
    classroom.init_app(app)
    admission.init_app(app)
    app.register_blueprint(checkpoints_api.bp)  # GET /api/checkpoints: each checkpoint's accuracy and confusion
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
