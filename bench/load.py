"""A small closed-loop HTTP load generator: N client processes, fixed duration or count.

Each client sends its requests in turn (cycling through a list), on a
keep-alive connection or a fresh one per request, and records every
request's start, end and outcome: an HTTP status, or ``refused`` (could not
connect: nothing was in flight), ``lost`` (sent, but no complete answer) or
``timeout``.
"""

from __future__ import annotations

import http.client
import io
import multiprocessing
import socket
import time
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from train.drawings import random_drawing, render


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes | None = None
    content_type: str | None = None
    method: str = "POST"
    headers: tuple[tuple[str, str], ...] = ()  # more request headers, e.g. (("Accept-Encoding", "gzip"),)


@dataclass
class LoadResult:
    concurrency: int
    seconds: float
    starts: np.ndarray  # perf_counter of each request's start
    latencies_ms: np.ndarray
    outcomes: list[str | int] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def statuses(self) -> dict:
        counts: dict = {}
        for outcome in self.outcomes:
            counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    @property
    def throughput(self) -> float:
        return self.statuses.get(200, 0) / self.seconds if self.seconds else 0.0

    def percentile(self, value: float, status: int | None = 200) -> float:
        mask = np.array([outcome == status for outcome in self.outcomes]) if status is not None else None
        latencies = self.latencies_ms[mask] if mask is not None and mask.any() else self.latencies_ms
        return float(np.percentile(latencies, value)) if len(latencies) else float("nan")

    @property
    def errors(self) -> int:
        return sum(count for outcome, count in self.statuses.items() if outcome != 200)


def _connect(port: int, timeout: float) -> http.client.HTTPConnection:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.connect()
    return connection


def _client(args) -> tuple[list[float], list[float], list]:
    port, requests, deadline, max_requests, keep_alive, timeout, offset = args
    starts: list[float] = []
    latencies: list[float] = []
    outcomes: list = []
    connection = None
    index = offset
    while time.perf_counter() < deadline and len(latencies) < max_requests:
        request = requests[index % len(requests)]
        index += 1
        headers = {"Content-Type": request.content_type} if request.content_type else {}
        headers.update(request.headers)
        if not keep_alive:
            headers["Connection"] = "close"
        started = time.perf_counter()
        try:
            if connection is None:
                connection = _connect(port, timeout)
        except OSError:
            outcome: str | int = "refused"
            connection = None
            time.sleep(0.01)
        else:
            try:
                connection.request(request.method, request.path, body=request.body, headers=headers)
                response = connection.getresponse()
                response.read()
                outcome = response.status
                if not keep_alive or response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    connection = None
            except (socket.timeout, TimeoutError):
                outcome = "timeout"
                connection.close()
                connection = None
            except (OSError, http.client.HTTPException):
                outcome = "lost"
                connection.close()
                connection = None
        starts.append(started)
        latencies.append((time.perf_counter() - started) * 1000)
        outcomes.append(outcome)
    if connection is not None:
        connection.close()
    return starts, latencies, outcomes


def run_load(
    port: int,
    requests: list[Request] | Request,
    concurrency: int,
    seconds: float,
    max_requests: int = 10**9,
    keep_alive: bool = True,
    timeout: float = 30.0,
) -> LoadResult:
    """Keep ``concurrency`` requests in flight for ``seconds`` (or ``max_requests`` per client)."""
    requests = [requests] if isinstance(requests, Request) else list(requests)
    context = multiprocessing.get_context("fork")
    with context.Pool(concurrency) as pool:
        started = time.perf_counter()
        deadline = started + seconds
        jobs = [
            (port, requests, deadline, max_requests, keep_alive, timeout, client) for client in range(concurrency)
        ]
        results = pool.map(_client, jobs)
    elapsed = time.perf_counter() - started
    return LoadResult(
        concurrency=concurrency,
        seconds=elapsed,
        starts=np.array([value for result in results for value in result[0]]),
        latencies_ms=np.array([value for result in results for value in result[1]]),
        outcomes=[value for result in results for value in result[2]],
    )


def page_png(digit: int = 5, seed: int = 2026) -> bytes:
    """A drawing of ``digit`` as the page sends it: 280x280, 8-bit grey, black ink on white."""
    rgba = Image.open(io.BytesIO(render(random_drawing(np.random.default_rng(seed), digit), "dark-on-light")))
    buffer = io.BytesIO()
    rgba.convert("L").save(buffer, "PNG")
    return buffer.getvalue()
