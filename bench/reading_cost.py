"""Where a reading's CPU goes: each step of POST /api/predict on the page's PNG, in this process.

Each figure is CPU time (``time.process_time``), the least of a few rounds of many calls, so other work on
the machine moves it less than wall time (it still moves it: caches and cores are shared). The whole
requests go through the app's WSGI callable as gunicorn calls it (hooks, body reading, work slot, JSON),
without the HTTP server and the event loop, which /healthz and /api/predict share.

    python -m bench.reading_cost [--calls 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable

from bench.load import page_png


def cpu_ms(function: Callable[[], object], calls: int, rounds: int) -> float:
    """The least, over ``rounds``, of the mean CPU milliseconds of ``calls`` calls."""
    for _ in range(max(10, calls // 10)):
        function()
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            function()
        best = min(best, (time.process_time() - started) * 1000 / calls)
    return best


def wsgi_call(app, path: str, query: str = "", body: bytes | None = None) -> Callable[[], str]:
    """A function that sends one request to ``app``'s WSGI callable and returns the status line."""

    def call() -> str:
        environ = {
            "REQUEST_METHOD": "POST" if body is not None else "GET", "PATH_INFO": path, "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body or b""),
            "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        if body is not None:
            environ.update(CONTENT_TYPE="image/png", CONTENT_LENGTH=str(len(body)))
        statuses = []
        answer = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
        b"".join(answer)
        getattr(answer, "close", lambda: None)()
        return statuses[0]

    return call


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reading_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(variable, "1")  # as gunicorn_conf sets them in the workers

    from webapp import create_app, preprocess
    from webapp.api import comparison
    from webapp.registry import get_holder

    app = create_app()
    with app.app_context():
        registry = get_holder(app).get(60)
    body = page_png()
    decoded = preprocess.decode_png(body)
    ink = preprocess.ink_levels(decoded)
    prepared = preprocess.to_mnist(ink)
    measure = lambda function: cpu_ms(function, args.calls, args.rounds)  # noqa: E731

    rows = [
        ("decode the PNG (280x280 grey, as the page sends)", measure(lambda: preprocess.decode_png(body))),
        ("ink: polarity, background level", measure(lambda: preprocess.ink_levels(decoded))),
        ("MNIST format: crop, stroke width, 20x20, centre", measure(lambda: preprocess.to_mnist(ink))),
        ("preprocessing in all (prepare)", measure(lambda: preprocess.prepare(body))),
    ]
    for name in registry.names:
        network = registry.get(name)
        rows.append((f"network {name}", measure(lambda network=network: network.predict(prepared.image))))
    if registry.gate is not None:
        rows.append(("not-a-digit gate", measure(lambda: registry.gate.not_a_digit(prepared.image))))
    with app.test_request_context("/api/predict?compare=1"):
        known = {registry.default: registry.get().predict(prepared.image)}
        verdict = registry.gate.not_a_digit(prepared.image) if registry.gate is not None else None
        rows.append(("compare: the other networks' rows", measure(lambda: comparison(prepared, known, verdict))))
    for label, path, query, sent in (
        ("GET /healthz, whole request", "/healthz", "", None),
        ("POST /api/predict, whole request", "/api/predict", "", body),
        ("POST /api/predict?compare=1, whole request", "/api/predict", "compare=1", body),
    ):
        call = wsgi_call(app, path, query, sent)
        status = call()
        if not status.startswith("200"):
            raise SystemExit(f"{label}: answered {status}, not 200")
        rows.append((label, measure(call)))

    print(f"CPU per call, least of {args.rounds} rounds of {args.calls} calls; load average (1 min) "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for label, milliseconds in rows:
        print(f"  {label:<52} {milliseconds:7.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
