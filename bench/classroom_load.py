"""The classroom under load, on SQLite and on PostgreSQL (part of make loadtest). Prints figures.

1. Drawings stored per second: 20 clients post labelled drawings (each one read by every served
   network, then committed) to one class on gunicorn (2 gevent workers), for N drawings.
   Baseline, same server, same clients: POST /api/predict?compare=1 (the same readings, nothing stored).
2. The class page with 5,000 drawings: latency of GET /api/classes/<code> (the figures the class page
   polls: per digit, each network's accuracy and confusion matrix) and of the page's HTML.
   Baseline: the same request for a class with no drawing.

SQLite is the default file (WAL, synchronous=FULL); PostgreSQL is a throwaway local cluster with fsync on
(bench/postgres.py), so both pay for durable commits.

    python -m bench.classroom_load [--drawings 1000] [--page-drawings 5000] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import numpy as np

from bench.postgres import start_postgres, stop_postgres
from bench.server import gunicorn, wait_ready
from tests.test_classroom_server import CLIENTS, PNGS, call, open_class, post_drawings


def seed_drawings(url: str, code: str, count: int, models: list[str]) -> None:
    """Insert ``count`` drawings straight into the class (the page's cost, not the posting's, is measured)."""
    from sqlalchemy import insert, select, update

    from webapp.classroom import store, tokens
    from webapp.classroom.models import Classroom, Drawing, Reading

    rng = np.random.default_rng(5000)
    engine = store.make_engine(url)
    with engine.begin() as connection:
        class_id = connection.scalar(select(Classroom.id).where(Classroom.code == code))
        moment = store.now() - timedelta(days=1)
        labels = [int(label) for label in rng.integers(0, 10, count)]
        connection.execute(insert(Drawing), [
            {"public_id": tokens.new_public_id(), "class_id": class_id, "label": label,
             "image": rng.integers(0, 256, 784, dtype=np.uint8).tobytes(),
             "delete_token_hash": tokens.hashed(tokens.new_token()), "created_at": moment + timedelta(seconds=index)}
            for index, label in enumerate(labels)])
        drawings = connection.execute(select(Drawing.id, Drawing.label).where(Drawing.class_id == class_id)).all()
        readings = []
        for drawing_id, label in drawings:
            for name in models:
                best = label if rng.random() < 0.85 else int(rng.integers(0, 10))
                readings.append({"drawing_id": drawing_id, "model": name, "class_id": class_id, "label": label,
                                 "digit": best, "best": best, "confidence": round(float(rng.random()), 4),
                                 "reason": None})
        connection.execute(insert(Reading), readings)
        connection.execute(update(Classroom).where(Classroom.id == class_id)
                           .values(drawings_count=Classroom.drawings_count + count))
    engine.dispose()


def post_readings(port: int, count: int, clients: int) -> tuple[int, dict]:
    """The baseline of part 1: ``count`` POST /api/predict?compare=1 (every network's reading, as a drawing
    gets, nothing stored) from ``clients`` threads; 503 busy is sent again after a pause, as for drawings."""
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def one(index: int) -> None:
        for _attempt in range(30):
            status, _body = call(port, "POST", "/api/predict?compare=1", PNGS[index % 10], content_type="image/png")
            with lock:
                outcomes[str(status)] += 1
            if status != 503:
                return
            time.sleep(1.0)

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(count)))
    return outcomes["200"], dict(outcomes)


def latencies(port: int, path: str, token: str | None, count: int) -> list[float]:
    import http.client

    times = []
    for _ in range(count):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        started = time.perf_counter()
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        response = connection.getresponse()
        response.read()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, response.status
        connection.close()
    return times


def describe(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):7.1f} ms  p99 {p99:7.1f} ms  ({len(ordered)} requests)"


def measure(backend: str, url: str, drawings: int, page_drawings: int) -> None:
    env = {"DATABASE_URL": url, "CLASSROOM_RATE_LIMIT": "1000000", "CLASSROOM_MAX_DRAWINGS": "1000000",
           "GUNICORN_MAX_REQUESTS": "0"}
    with gunicorn(workers=2, extra_env=env) as (port, _master):
        wait_ready(port, workers=2)
        code, _ = open_class(port)
        post_drawings(port, code, 40, CLIENTS, resend_busy=True)  # warm: connections, migrations, interpreters
        code, token = open_class(port)
        started = time.perf_counter()
        acknowledged, outcomes = post_drawings(port, code, drawings, CLIENTS, resend_busy=True)
        seconds = time.perf_counter() - started
        print(f"   {backend:<10} 1. {len(acknowledged)} drawings stored by {CLIENTS} clients in {seconds:.1f} s: "
              f"{len(acknowledged) / seconds:.1f} drawings/s  (answers: {outcomes})")
        started = time.perf_counter()
        answered, outcomes = post_readings(port, drawings, CLIENTS)
        seconds = time.perf_counter() - started
        print(f"   {backend:<10}    baseline: {answered} POST /api/predict?compare=1 (the same readings, nothing "
              f"stored) in {seconds:.1f} s: {answered / seconds:.1f} readings/s  (answers: {outcomes})")

        status, models = call(port, "GET", "/api/models")
        code, token = open_class(port)
        print(f"   {backend:<10}    baseline: GET /api/classes/<code> with 0 drawings: "
              f"{describe(latencies(port, f'/api/classes/{code}', token, 40))}")
        seed_drawings(url, code, page_drawings, [model["name"] for model in models["models"]])
        status, figures = call(port, "GET", f"/api/classes/{code}", token=token)
        assert status == 200 and figures["drawings"] == page_drawings, (status, figures.get("drawings"))
        latencies(port, f"/api/classes/{code}", token, 3)
        print(f"   {backend:<10} 2. GET /api/classes/<code> with {page_drawings} drawings: "
              f"{describe(latencies(port, f'/api/classes/{code}', token, 40))}")
        print(f"   {backend:<10}    GET /classroom/<code>/teacher (the page's HTML): "
              f"{describe(latencies(port, f'/classroom/{code}/teacher', None, 40))}")
        first_cell = f"/api/classes/{code}/drawings?label=3&model=digit-lens&predicted=3&limit=200"
        print(f"   {backend:<10}    GET a confusion cell's drawings (up to 200): "
              f"{describe(latencies(port, first_cell, token, 20))}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.classroom_load", description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, default=1000, help="drawings posted in part 1")
    parser.add_argument("--page-drawings", type=int, default=5000, help="drawings of the class in part 2")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="one backend only")
    args = parser.parse_args(argv)
    print(f"classroom: {CLIENTS} clients, gunicorn with 2 gevent workers, the shipped networks")
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory(prefix="digit-lens-classroom-") as folder:
            measure("sqlite", f"sqlite:///{Path(folder) / 'classroom.sqlite3'}", args.drawings, args.page_drawings)
    if args.only in (None, "postgresql"):
        cluster = start_postgres(durable=True)
        try:
            measure("postgresql", cluster.url(cluster.new_database()), args.drawings, args.page_drawings)
        finally:
            stop_postgres(cluster)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
