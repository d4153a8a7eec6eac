"""make bench: the LiteRT server beside its TensorFlow baseline, the ceiling and the naive way, in one run.

Starts the real server (``webapp.gunicorn_conf``, 2 workers) with the bench
endpoints on (``bench/app.py``), and drives it over loopback from client
processes on the same 2-core machine (so client and server share the CPU, as
they would in any single-box measurement). Each worker's memory is read
after it has served the LiteRT endpoints only; then each worker loads
TensorFlow and the Keras model, and all endpoints take turns at each
concurrency, the same requests going through LiteRT and through TensorFlow
in the same workers.
Prints figures; passes or fails nothing.

    python -m bench [--seconds 4] [--litert-only]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from bench.load import LoadResult, Request, page_png, run_load
from bench.server import children, gunicorn, memory_kib, wait_ready

GZIP = (("Accept-Encoding", "gzip"),)
LITERT_ENDPOINTS = [
    ("trivial (ceiling)", "/bench/trivial", ()),
    ("/api/predict", "/api/predict", ()),
    # What the drawing page sends on every update: every served network's reading, one request.
    ("predict ?compare=1", "/api/predict?compare=1", ()),
    # The same before issue 18 (bench/app.py): each network and the gate ran once per reading, 12 passes.
    ("compare=1 before", "/bench/predict-before?compare=1", ()),
    ("/api/features", "/api/features", ()),
    ("/api/features gzip", "/api/features", GZIP),
]
TENSORFLOW_ENDPOINTS = [
    ("TF predict", "/bench/tf-predict", ()),
    ("TF features", "/bench/tf-features", ()),
    ("naive predict()", "/bench/naive", ()),
]
CONCURRENCY = (1, 2, 8)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def warm(port: int, endpoints, body: bytes, pids: list[int], seconds: float = 1.0) -> None:
    """Load every endpoint from several clients, so each worker has run it (TensorFlow: loaded it)."""
    for _, path, headers in endpoints:
        run_load(port, Request(path, body, "image/png", headers=headers), len(pids) * 4, seconds, timeout=120.0)


def measure(
    port: int, endpoints, body: bytes, seconds: float, pids: list[int]
) -> tuple[dict[tuple[str, int], LoadResult], dict[str, float]]:
    """Load each endpoint at each concurrency; also the workers' CPU ms per request, per endpoint.

    The endpoints take turns at each concurrency, so a machine whose speed
    drifts during the run (a shared one) slows them alike. CPU time per
    request is what bounds throughput, and unlike latency it hardly moves
    when other programs share the machine.
    """
    results, cpu, answered = {}, dict.fromkeys([name for name, _, _ in endpoints], 0.0), {}
    for concurrency in CONCURRENCY:
        for name, path, headers in endpoints:
            before = cpu_seconds(pids)
            result = run_load(port, Request(path, body, "image/png", headers=headers), concurrency, seconds)
            cpu[name] += cpu_seconds(pids) - before
            answered[name] = answered.get(name, 0) + result.requests
            results[(name, concurrency)] = result
    return results, {name: cpu[name] * 1000 / max(answered[name], 1) for name in cpu}


def worker_memory(master_pid: int) -> dict[int, dict[str, int]]:
    return {pid: memory_kib(pid) for pid in children(master_pid)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each measurement")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--litert-only", action="store_true",
                        help="only the served endpoints: no TensorFlow baseline (quicker; memory and ratios omitted)")
    args = parser.parse_args(argv)
    tensorflow_endpoints = [] if args.litert_only else TENSORFLOW_ENDPOINTS

    body = page_png()
    started = time.perf_counter()
    with gunicorn(args.workers, app="bench.app:create_bench_app()") as (port, master):
        ready_seconds = wait_ready(port, args.workers, since=started)
        print(f"server: gunicorn, {args.workers} workers, cold start to ready {ready_seconds:.2f} s "
              "(from starting gunicorn to /readyz answering 200 on every worker)")
        print(f"request body: {len(body)} byte PNG, 280x280 8-bit grey, as the page sends\n")
        memory_ready = worker_memory(master.pid)
        pids = children(master.pid)
        warm(port, LITERT_ENDPOINTS, body, pids, seconds=2.0)
        memory_litert = worker_memory(master.pid)
        warm(port, tensorflow_endpoints, body, pids)
        memory_tensorflow = worker_memory(master.pid)
        results, cpu = measure(port, LITERT_ENDPOINTS + tensorflow_endpoints, body, args.seconds, pids)

    endpoints = LITERT_ENDPOINTS + tensorflow_endpoints
    print(f"{'endpoint':<20} {'p50 ms':>8} {'p99 ms':>8} " + " ".join(f"{f'req/s c={c}':>11}" for c in CONCURRENCY)
          + f" {'errors':>7} {'server CPU ms/req':>18}")
    for name, _, _ in endpoints:
        single = results[(name, 1)]
        errors = sum(results[(name, c)].errors for c in CONCURRENCY)
        print(f"{name:<20} {single.percentile(50):8.2f} {single.percentile(99):8.2f} "
              + " ".join(f"{results[(name, c)].throughput:11.0f}" for c in CONCURRENCY) + f" {errors:7d}"
              + f" {cpu[name]:18.3f}")

    print(f"\n  ?compare=1 / predict, server CPU per request: {cpu['predict ?compare=1'] / cpu['/api/predict']:.2f}x")
    print(f"  ?compare=1 before / after issue 18, server CPU per request: {cpu['compare=1 before']:.3f} / "
          f"{cpu['predict ?compare=1']:.3f} ms = {cpu['compare=1 before'] / cpu['predict ?compare=1']:.2f}x")
    if args.litert_only:
        return 0

    def ratio(numerator: str, denominator: str, concurrency: int) -> float:
        return results[(numerator, concurrency)].throughput / max(results[(denominator, concurrency)].throughput, 1e-9)

    print("\nratios (req/s, same run):")
    for concurrency in CONCURRENCY:
        print(f"  c={concurrency}: predict / trivial = {ratio('/api/predict', 'trivial (ceiling)', concurrency):5.0%}   "
              f"predict / TF predict = {ratio('/api/predict', 'TF predict', concurrency):4.1f}x   "
              f"features / TF features = {ratio('/api/features', 'TF features', concurrency):4.1f}x   "
              f"predict / naive = {ratio('/api/predict', 'naive predict()', concurrency):5.1f}x")
    print(f"  server CPU per request: trivial / predict = {cpu['trivial (ceiling)'] / cpu['/api/predict']:.0%} "
          "(the most predict / trivial throughput can be while the server's CPU is the bottleneck)")
    for ours, theirs in (("/api/predict", "TF predict"), ("/api/features", "TF features"), ("/api/predict", "naive predict()")):
        print(f"  p50 latency at c=1: {theirs} / {ours} = "
              f"{results[(theirs, 1)].percentile(50) / results[(ours, 1)].percentile(50):.1f}x")

    print("\nworker memory (RSS; peak in brackets):")
    for pid in memory_ready:
        def mib(memory: dict, key: str) -> str:
            return f"{memory[pid][key] / 1024:.0f}" if pid in memory else "?"

        print(f"  pid {pid}: LiteRT only, ready {mib(memory_ready, 'VmRSS')} MiB; after LiteRT requests "
              f"{mib(memory_litert, 'VmRSS')} MiB ({mib(memory_litert, 'VmHWM')}); "
              f"once TensorFlow and the Keras model are loaded too {mib(memory_tensorflow, 'VmRSS')} MiB "
              f"({mib(memory_tensorflow, 'VmHWM')})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
