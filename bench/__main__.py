"""make bench: /api/predict and /api/features under gunicorn, side by side with the ceiling and the naive way.

Starts the real server (``webapp.gunicorn_conf``, 2 workers) with the bench
endpoints on, and drives it over loopback from client processes on the same
2-core machine (so client and server share the CPU, as they would in any
single-box measurement). Prints figures; passes or fails nothing.

    python -m bench [--seconds 4]
"""

from __future__ import annotations

import argparse
import time

from bench.load import LoadResult, Request, page_png, run_load
from bench.server import children, gunicorn, memory_kib, wait_ready

ENDPOINTS = [
    ("trivial (ceiling)", "/bench/trivial"),
    ("/api/predict", "/api/predict"),
    ("/api/features", "/api/features"),
    ("naive predict()", "/bench/naive"),
]
CONCURRENCY = (1, 2, 8)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each measurement")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    body = page_png()
    started = time.perf_counter()
    with gunicorn(args.workers, app="bench.app:create_bench_app()") as (port, master):
        ready_seconds = wait_ready(port, args.workers)
        print(f"server: gunicorn, {args.workers} workers, cold start to ready {time.perf_counter() - started:.1f} s "
              f"(readyz polled {ready_seconds:.1f} s)")
        print(f"request body: {len(body)} byte PNG, 280x280 8-bit grey, as the page sends\n")

        for _, path in ENDPOINTS:  # warm every worker's code paths
            run_load(port, Request(path, body, "image/png"), args.workers * 2, 0.5, max_requests=20)

        results: dict[tuple[str, int], LoadResult] = {}
        for name, path in ENDPOINTS:
            for concurrency in CONCURRENCY:
                results[(name, concurrency)] = run_load(port, Request(path, body, "image/png"), concurrency, args.seconds)

        worker_memory = {pid: memory_kib(pid) for pid in children(master.pid)}

    print(f"{'endpoint':<20} {'p50 ms':>8} {'p99 ms':>8} " + " ".join(f"{f'req/s c={c}':>11}" for c in CONCURRENCY)
          + f" {'errors':>7}")
    for name, _ in ENDPOINTS:
        single = results[(name, 1)]
        errors = sum(results[(name, c)].errors for c in CONCURRENCY)
        print(f"{name:<20} {single.percentile(50):8.2f} {single.percentile(99):8.2f} "
              + " ".join(f"{results[(name, c)].throughput:11.0f}" for c in CONCURRENCY) + f" {errors:7d}")

    predict, trivial, naive = "/api/predict", "trivial (ceiling)", "naive predict()"
    print("\nratios (req/s):")
    for concurrency in CONCURRENCY:
        ours = results[(predict, concurrency)].throughput
        print(f"  c={concurrency}: predict / trivial = {ours / results[(trivial, concurrency)].throughput:5.0%}   "
              f"predict / naive = {ours / max(results[(naive, concurrency)].throughput, 1e-9):6.1f}x")
    print(f"  p50 latency: naive / predict = "
          f"{results[(naive, 1)].percentile(50) / results[(predict, 1)].percentile(50):.1f}x")
    print("\nworker memory (after the run):")
    for pid, memory in worker_memory.items():
        print(f"  pid {pid}: RSS {memory['VmRSS'] / 1024:.0f} MiB, peak {memory['VmHWM'] / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
