"""A small closed-loop HTTP load generator: N client processes, keep-alive connections, fixed duration."""

from __future__ import annotations

import http.client
import multiprocessing
import time
from dataclasses import dataclass

import numpy as np


@dataclass
class LoadResult:
    concurrency: int
    seconds: float
    latencies_ms: np.ndarray
    statuses: dict[int, int]
    failures: int  # connection errors, timeouts

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def throughput(self) -> float:
        ok = self.statuses.get(200, 0)
        return ok / self.seconds if self.seconds else 0.0

    def percentile(self, value: float) -> float:
        return float(np.percentile(self.latencies_ms, value)) if len(self.latencies_ms) else float("nan")

    @property
    def errors(self) -> int:
        return self.failures + sum(count for status, count in self.statuses.items() if status != 200)


def _client(args) -> tuple[list[float], dict[int, int], int]:
    port, method, path, body, headers, deadline, max_requests = args
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    failures = 0
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.perf_counter() < deadline and len(latencies) < max_requests:
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            failures += 1
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[response.status] = statuses.get(response.status, 0) + 1
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.close()
    return latencies, statuses, failures


def run_load(
    port: int,
    path: str,
    body: bytes | None,
    content_type: str | None,
    concurrency: int,
    seconds: float,
    method: str = "POST",
    max_requests: int = 10**9,
) -> LoadResult:
    """Keep ``concurrency`` requests in flight for ``seconds`` and collect latencies."""
    headers = {"Content-Type": content_type} if content_type else {}
    started = time.perf_counter()
    deadline = started + seconds
    jobs = [(port, method, path, body, headers, deadline, max_requests)] * concurrency
    context = multiprocessing.get_context("fork")
    with context.Pool(concurrency) as pool:
        results = pool.map(_client, jobs)
    elapsed = time.perf_counter() - started
    latencies = np.array([value for result in results for value in result[0]])
    statuses: dict[int, int] = {}
    for _, counts, _ in results:
        for status, count in counts.items():
            statuses[status] = statuses.get(status, 0) + count
    return LoadResult(concurrency, elapsed, latencies, statuses, sum(result[2] for result in results))
