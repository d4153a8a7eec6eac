"""GET /metrics: what an operator watches, in Prometheus's text format, summed over gunicorn's workers.

Every worker counts into files in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode;
``webapp/gunicorn_conf.py`` makes that folder in the master, before any worker forks, and marks a worker's
files dead when it exits), so whichever worker answers a scrape reports all of them. Without that
variable (the Flask test client, a single process) the counts are this process's own.

- ``digit_lens_requests_total{endpoint, method, status}``: requests answered, by route and status, so
  error codes per endpoint; ``digit_lens_request_duration_seconds{endpoint}``: their latency;
- ``digit_lens_readings_total{network, answer}``: readings per network, ``answer`` one of digit, empty,
  not-a-digit, uncertain (the readings of ``?compare=1`` included);
- ``digit_lens_shed_total``: requests answered 503 busy (admission); ``digit_lens_body_timeouts_total``:
  bodies that missed their deadline (408);
- ``digit_lens_worker_resident_bytes{pid}``: each live worker's resident memory, refreshed at most once a
  second as it answers requests.

Config: ``METRICS`` (``DIGIT_LENS_METRICS=0`` turns the endpoint off: 404) and ``METRICS_TOKEN``
(``DIGIT_LENS_METRICS_TOKEN``: then a scrape must send ``Authorization: Bearer <token>``, else 401).
"""

from __future__ import annotations

import hmac
import os
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.exposition import choose_encoder

from webapp.errors import ApiError

bp = Blueprint("metrics", __name__)

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
# This process's metrics; in multiprocess mode their values live in the shared folder's files instead.
_OWN = CollectorRegistry()
# Seconds: a reading takes ~1-10 ms of CPU, a queued one up to QUEUE_TIMEOUT_SECONDS, a slow body up to 20.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter("digit_lens_requests", "Requests answered, by route, method and status.",
                   ["endpoint", "method", "status"], registry=_OWN)
LATENCY = Histogram("digit_lens_request_duration_seconds", "Time from the request reaching the app to its answer.",
                    ["endpoint"], buckets=LATENCY_BUCKETS, registry=_OWN)
READINGS = Counter("digit_lens_readings", "Readings of a drawing, by network and answer "
                   "(digit, empty, not-a-digit, uncertain).", ["network", "answer"], registry=_OWN)
SHED = Counter("digit_lens_shed", "Requests answered 503 busy: no work slot in time, or the event loop ran late.",
               registry=_OWN)
BODY_TIMEOUTS = Counter("digit_lens_body_timeouts", "Request bodies that did not arrive within their deadline (408).",
                        registry=_OWN)
RESIDENT = Gauge("digit_lens_worker_resident_bytes", "Resident memory of each live worker process.",
                 registry=_OWN, multiprocess_mode="liveall")

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_memory_read_at = [0.0]


def init_app(app: Flask) -> None:
    """Time and count every request; serve /metrics."""
    app.config.setdefault("METRICS", True)
    app.config.setdefault("METRICS_TOKEN", "")
    app.before_request(_start)
    app.after_request(_finish)
    app.register_blueprint(bp)


def _start() -> None:
    g.metrics_started = time.perf_counter()


def _finish(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    # The route's pattern, never the raw path: a scanner's thousand URLs are one "unmatched" series.
    endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
    REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    if started is not None:
        LATENCY.labels(endpoint).observe(time.perf_counter() - started)
    _refresh_memory()
    return response


def _refresh_memory() -> None:
    now = time.monotonic()
    if now - _memory_read_at[0] < 1.0:
        return
    _memory_read_at[0] = now
    try:
        with open("/proc/self/statm", "rb") as statm:
            RESIDENT.set(int(statm.read().split()[1]) * _PAGE_SIZE)
    except OSError:  # not Linux: no figure rather than a wrong one
        pass


def reading(network: str, reason: str | None) -> None:
    """Count one reading: ``reason`` as in the API's answer (None when it read a digit)."""
    READINGS.labels(network, reason or "digit").inc()


def shed() -> None:
    SHED.inc()


def body_timeout() -> None:
    BODY_TIMEOUTS.inc()


def _allowed() -> None:
    if not current_app.config["METRICS"] or str(current_app.config["METRICS"]).lower() in ("0", "false", "off"):
        raise ApiError(404, "not-found", "no such page: metrics are turned off on this server")
    token = str(current_app.config["METRICS_TOKEN"] or "")
    if token:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            raise ApiError(401, "unauthorized", "metrics need the operator's token: Authorization: Bearer <token>",
                           {"WWW-Authenticate": 'Bearer realm="metrics"'})


@bp.get("/metrics")
def metrics() -> Response:
    """Every worker's counts in Prometheus's text format."""
    _allowed()
    _refresh_memory()
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = _OWN
    # Prometheus's text format, or OpenMetrics when the scraper's Accept asks for it.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    response = Response(encode(registry), content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response
