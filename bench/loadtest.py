"""make loadtest: load, overload, soak and faults against the real gunicorn server. Prints figures.

1. Cold start: seconds from launching gunicorn to every worker ready.
2. Load: req/s and p50/p99 at concurrency 1, 2, 8, 32 for /api/predict and /api/features.
3. Overload: 256 clients at once; every answer must be 200 or 503, nothing hangs.
4. Soak: at least 20,000 requests (readings, layer views, bad inputs mixed); RSS of each worker at start and end.
   Then every checkpoint of every network touched (?checkpoint=, a reading, the layers, the kernels and one
   explained cell each, every worker many times over): RSS of each worker after it; and before that, the
   slider's switch latency: a reading at a checkpoint the worker has not loaded, and the same one again.
5. kill -9 of a worker under load: requests lost, time until its replacement is ready.
6. SIGTERM under load: in-flight requests complete, then a clean exit.
7. Slow and silent clients: good readings while 8 stalled uploads, 8 uploads at 1 byte/s, 200 silent
   connections or 50 slowloris connections are held open, on the server as configured and, as the
   baseline, on gunicorn's gthread worker (8 threads), which the server used before.

    python -m bench.loadtest [--soak 24000] [--seconds 4] [--attack-seconds 30] [--only-attacks] [--only-checkpoints]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import threading
import time
import urllib.request

import numpy as np

from bench.attacks import Attack
from bench.load import LoadResult, Request, page_png, run_load
from bench.server import LOG_DIR, children, gunicorn, memory_kib, wait_ready


def soak_mix() -> list[Request]:
    """What a busy public server sees: mostly readings, some layer views, some junk."""
    readings = [Request("/api/predict", page_png(digit, 300 + digit), "image/png") for digit in range(10)]
    return [
        *readings,
        Request("/api/features", page_png(3, 77), "image/png"),
        Request("/api/predict", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png"),
        Request("/api/predict", b'{"image": "not base64!"}', "application/json"),
        Request("/api/predict", b"GIF89a" + b"\x00" * 100, "image/png"),
    ]


def checkpoint_mix(port: int) -> list[Request]:
    """Every checkpoint of every served network: a reading, its layers, its kernels and one explained cell."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/models", timeout=30) as response:
        models = json.load(response)["models"]
    drawing = page_png(4, 77)
    requests = []
    for model in models:
        for checkpoint in model.get("checkpoints", []):
            query = f"model={model['name']}&checkpoint={checkpoint['name']}"
            requests += [
                Request(f"/api/predict?{query}", drawing, "image/png"),
                Request(f"/api/features?{query}", drawing, "image/png"),
                Request(f"/api/kernels?{query}", method="GET"),
                Request(f"/api/explain?{query}&layer=conv1&at=3,3,0", drawing, "image/png"),
            ]
    return requests


def switch_latency(port: int) -> None:
    """A learner dragging the slider: each checkpoint's reading asked for twice in a row, on one connection.

    One keep-alive connection is served by one worker, which has not read these checkpoints yet: the
    first answer includes reading the checkpoint's file (a cache miss), the second does not. The
    served network's reading (no checkpoint) is the baseline.
    """
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/models", timeout=30) as response:
        models = json.load(response)["models"]
    drawing = page_png(4, 77)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def milliseconds(path: str) -> float:
        started = time.perf_counter()
        connection.request("POST", path, body=drawing, headers={"Content-Type": "image/png"})
        response = connection.getresponse()
        response.read()
        assert response.status == 200, (path, response.status)
        return (time.perf_counter() - started) * 1000

    print("   switch latency, /api/predict on one connection (one worker), median and max ms; load average "
          "%.2f %.2f %.2f" % os.getloadavg())
    try:
        for model in models:
            names = [entry["name"] for entry in model.get("checkpoints", []) if entry["name"] != "final"]
            if not names:
                continue
            served = [milliseconds(f"/api/predict?model={model['name']}") for _ in range(5)]
            first, again = [], []
            for name in names:
                path = f"/api/predict?model={model['name']}&checkpoint={name}"
                first.append(milliseconds(path))
                again.append(milliseconds(path))
            print(f"   {model['name']:<15} served {np.median(served):5.1f}; checkpoint not loaded "
                  f"{np.median(first):5.1f} (max {max(first):5.1f}); the same again {np.median(again):5.1f} "
                  f"(max {max(again):5.1f})  [{len(names)} checkpoints]")
    finally:
        connection.close()


def touch_every_checkpoint(port: int, workers: list[int]) -> None:
    """The switch latency, then every checkpoint asked for several times over (so each worker loads each): RSS."""
    requests = checkpoint_mix(port)
    before = rss_mib(workers)
    switch_latency(port)
    # One client per request list pass; fresh connections spread the requests over both workers.
    result = run_load(port, requests, 4, 3600, max_requests=len(requests), keep_alive=False)
    after = rss_mib(workers)
    print(f"   {len(requests) // 4} checkpoints x 4 endpoints, {result.requests} requests; {summary(result)}")
    print("   load average %.2f %.2f %.2f" % os.getloadavg())
    for pid in workers:
        print(f"   worker {pid}: RSS {before[pid]:.0f} MiB before, {after[pid]:.0f} MiB with every checkpoint touched "
              f"({after[pid] - before[pid]:+.1f} MiB)")


def summary(result: LoadResult) -> str:
    statuses = ", ".join(f"{outcome}: {count}" for outcome, count in sorted(result.statuses.items(), key=str))
    return (
        f"{result.throughput:7.0f} req/s  p50 {result.percentile(50):6.2f} ms  p99 {result.percentile(99):7.2f} ms  "
        f"[{statuses}]"
    )


def rss_mib(pids: list[int]) -> dict[int, float]:
    return {pid: memory_kib(pid)["VmRSS"] / 1024 for pid in pids}


def log_tail_since(offset: int) -> str:
    with open(LOG_DIR / "gunicorn.log", "rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


def log_size() -> int:
    path = LOG_DIR / "gunicorn.log"
    return path.stat().st_size if path.exists() else 0


def background_load(port: int, requests, concurrency: int, seconds: float, **options) -> tuple[threading.Thread, dict]:
    holder: dict = {}

    def run() -> None:
        holder["result"] = run_load(port, requests, concurrency, seconds, **options)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, holder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each load point")
    parser.add_argument("--soak", type=int, default=24000, help="requests in the soak")
    parser.add_argument("--attack-seconds", type=float, default=30.0, help="how long each attack is held")
    parser.add_argument("--only-attacks", action="store_true", help="run part 7 only")
    parser.add_argument("--only-checkpoints", action="store_true", help="run only the checkpoint part of 4")
    args = parser.parse_args(argv)
    if args.only_attacks:
        return slow_clients(args.attack_seconds)
    if args.only_checkpoints:
        with gunicorn(workers=2, extra_env={"GUNICORN_MAX_REQUESTS": "0"}) as (port, master):
            wait_ready(port, workers=2)
            print("every checkpoint of every network touched, 2 workers")
            touch_every_checkpoint(port, children(master.pid))
        return 0
    reading = Request("/api/predict", page_png(5, 2026), "image/png")
    features = Request("/api/features", page_png(5, 2026), "image/png")

    started = time.perf_counter()
    # Worker recycling off, so the soak sees the same workers from start to end.
    with gunicorn(workers=2, extra_env={"GUNICORN_MAX_REQUESTS": "0"}) as (port, master):
        ready_seconds = wait_ready(port, workers=2, since=started)
        print(f"1. cold start to ready (from starting gunicorn to /readyz answering 200 on both workers, "
              f"each loading every network's LiteRT files): {ready_seconds:.2f} s")
        for pid, rss in rss_mib(children(master.pid)).items():
            print(f"   worker {pid}: RSS {rss:.0f} MiB when ready")
        print()

        print("2. load (closed loop, keep-alive clients on the same 2 cores)")
        for request in (reading, features):
            run_load(port, request, 4, 0.5)
            for concurrency in (1, 2, 8, 32):
                result = run_load(port, request, concurrency, args.seconds)
                print(f"   {request.path:<14} c={concurrency:<3} {summary(result)}")

        print("\n3. overload: 256 clients at once for 5 s, fresh connection per request")
        result = run_load(port, reading, 256, 5.0, keep_alive=False, timeout=15.0)
        worst = float(result.latencies_ms.max())
        server_errors = sum(count for outcome, count in result.statuses.items() if isinstance(outcome, int) and outcome >= 500 and outcome != 503)
        print(f"   {summary(result)}\n   slowest answer {worst:.0f} ms; 5xx other than 503: {server_errors}")

        print("\n   the same flood against a server told to shed load early (queue budget 20 ms):")
        with gunicorn(workers=2, extra_env={"DIGIT_LENS_QUEUE_TIMEOUT_SECONDS": "0.02"}) as (
            shed_port,
            _,
        ):
            wait_ready(shed_port, workers=2)
            result = run_load(shed_port, reading, 256, 5.0, keep_alive=False, timeout=15.0)
            others = sum(count for outcome, count in result.statuses.items() if outcome not in (200, 503))
            print(f"   {summary(result)}\n   slowest answer {float(result.latencies_ms.max()):.0f} ms; "
                  f"answers other than 200 and 503: {others}")

        workers = children(master.pid)
        print(f"\n4. soak: {args.soak} requests, 8 clients, mixed readings, layer views and bad inputs")
        before = rss_mib(workers)
        result = run_load(port, soak_mix(), 8, 3600, max_requests=args.soak // 8)
        after = rss_mib(workers)
        print(f"   {result.requests} requests in {result.seconds:.0f} s; {summary(result)}")
        for pid in workers:
            print(f"   worker {pid}: RSS {before[pid]:.0f} MiB at start, {after[pid]:.0f} MiB at end "
                  f"({after[pid] - before[pid]:+.1f} MiB)")
        print(f"   same workers before and after: {children(master.pid) == workers}")
        print("   every checkpoint of every network touched after the soak:")
        touch_every_checkpoint(port, workers)

        print("\n5. kill -9 of one worker under load (8 clients, 12 s)")
        offset = log_size()
        thread, holder = background_load(port, reading, 8, 12.0)
        time.sleep(3.0)
        victim = children(master.pid)[0]
        killed_at = time.perf_counter()
        os.kill(victim, signal.SIGKILL)
        replacement, ready_after = None, None
        while time.perf_counter() - killed_at < 60:
            current = [pid for pid in children(master.pid) if pid not in workers]
            if current:
                replacement = current[0]
                if re.search(rf"warmed up in [0-9.]+ s \(pid {replacement}\)", log_tail_since(offset)):
                    ready_after = time.perf_counter() - killed_at
                    break
            time.sleep(0.05)
        thread.join()
        result = holder["result"]
        after_kill = result.starts >= killed_at
        failed = [outcome for outcome in result.outcomes if outcome != 200]
        print(f"   {summary(result)}")
        print(f"   requests that failed: {len(failed)} (in flight on the killed worker); "
              f"replacement pid {replacement} ready {ready_after:.1f} s after the kill" if ready_after else
              f"   requests that failed: {len(failed)}; no replacement became ready within 60 s")
        late = [outcome for outcome, late in zip(result.outcomes, after_kill, strict=True) if late and outcome != 200]
        print(f"   of which after the kill: {len(late)}; served after the kill: {int(after_kill.sum()) - len(late)}")

        print("\n6. SIGTERM under load (8 clients, fresh connection per request)")
        offset = log_size()
        thread, holder = background_load(port, features, 8, 6.0, keep_alive=False)
        time.sleep(2.0)
        term_at = time.perf_counter()
        master.send_signal(signal.SIGTERM)
        exit_code = master.wait(timeout=60)
        exit_seconds = time.perf_counter() - term_at
        thread.join()
        result = holder["result"]
        lost = result.statuses.get("lost", 0) + result.statuses.get("timeout", 0)
        refused = result.statuses.get("refused", 0)
        print(f"   {summary(result)}")
        exits = re.findall(r"worker (\d+) exiting: (\d+) requests started, (\d+) finished", log_tail_since(offset))
        cut_off = sum(int(started) - int(finished) for _, started, finished in exits)
        print(f"   workers' own count: {len(exits)} workers exited, requests started but not finished: {cut_off}")
        print(f"   clients: {lost} requests got no answer (connections still in the kernel's accept queue when the "
              f"workers stopped accepting); {refused} new connections refused after shutdown began")
        print(f"   master exit code {exit_code} after {exit_seconds:.2f} s")
    return slow_clients(args.attack_seconds)


ATTACKS = [("stalled-upload", 8), ("trickle-upload", 8), ("silent", 200), ("slowloris", 50)]


def slow_clients(seconds: float) -> int:
    """Part 7: good readings from 2 clients (a fresh connection each, as new visitors) while an attack is held."""
    reading = Request("/api/predict", page_png(5, 2026), "image/png")
    print(f"\n7. slow and silent clients: good readings (2 clients, a fresh connection each) while hostile "
          f"connections are held {seconds:.0f} s")
    servers = [("gthread, 8 threads (before)", {"GUNICORN_WORKER_CLASS": "gthread"}), ("as configured (gevent)", {})]
    for label, env in servers:
        with gunicorn(workers=2, extra_env=env) as (port, _):
            wait_ready(port, workers=2)
            print(f"   {label}:")
            result = run_load(port, reading, 2, 5.0, keep_alive=False, timeout=15.0)
            print(f"     {'no attack (5 s)':<22} {good_requests(result)}")
            for kind, count in ATTACKS:
                with Attack(port, kind, count) as attack:
                    time.sleep(0.5)  # every hostile connection open before the first good request
                    result = run_load(port, reading, 2, seconds, keep_alive=False, timeout=15.0)
                    reopened = attack.reopened
                print(f"     {f'{count} {kind}':<22} {good_requests(result)}; hostile connections the server cut: "
                      f"{reopened}")
    return 0


def good_requests(result: LoadResult) -> str:
    ok = result.statuses.get(200, 0)
    others = ", ".join(f"{outcome}: {count}" for outcome, count in sorted(result.statuses.items(), key=str)
                       if outcome != 200)
    return (f"{ok}/{result.requests} answered 200, p50 {result.percentile(50, None):.0f} ms, "
            f"p99 {result.percentile(99, None):.0f} ms, max {float(result.latencies_ms.max()):.0f} ms"
            + (f" [{others}]" if others else ""))


if __name__ == "__main__":
    raise SystemExit(main())
