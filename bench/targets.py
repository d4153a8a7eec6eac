"""Issue 24's serving targets, each beside its baseline measured in the same run.

Two servers, one after the other, on the same machine and the same requests: this checkout, and a
baseline commit's (default e1eea51, main before issue 24's work), checked out into a temporary git
worktree and served by the same virtualenv. Each is the real server (``webapp.gunicorn_conf``, 2 workers)
driven over loopback by client processes on the same machine, as in ``python -m bench``.

- ``/api/predict ÷ /healthz``: throughput of a reading over that of the cheapest request, c = 1, 2, 8
  (target >= 0.4 at each);
- server CPU per reading: the workers' user + system CPU over the readings they answered
  (/api/predict target <= 0.8 ms; ``?compare=1``, every network and the gate, <= 1.5 ms);
- worker RSS after a mixed load (predict, compare, features and kernels of every network), the larger of
  the two workers (target <= 100 MiB);
- ``make run`` to ready: gunicorn started to /readyz answering 200 on every worker (target <= 1 s), and
  beside it the CPU seconds the master and a worker spent until then, which a busy machine does not inflate
  as it does the wall time.

    python -m bench.targets [--baseline REF] [--seconds 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.load import Request, page_png, run_load
from bench.server import ROOT, children, gunicorn, memory_kib, wait_ready

DEFAULT_BASELINE = "e1eea51"
CONCURRENCY = (1, 2, 8)
NETWORKS = ("digit-lens", "lenet", "keras-mnist", "torch-net", "simple-convnet")


@dataclass
class Figures:
    ready_seconds: float
    # CPU seconds spent until ready (load-independent, unlike ready_seconds): gunicorn's master, and the
    # larger of the workers' (imports, create_app, loading the networks; the workers start in parallel)
    ready_cpu: tuple[float, float]
    ratio: dict[int, float]  # c -> predict req/s / healthz req/s
    predict_rate: dict[int, float]
    healthz_rate: dict[int, float]
    predict_cpu_ms: float
    compare_cpu_ms: float
    healthz_cpu_ms: float
    rss_mib: float
    errors: int
    failures: dict  # outcome (status or error name) -> count, over every load of the run
    load: tuple[float, float]  # the machine's 1-minute load average at the start and the end


def cpu_seconds(pids: list[int]) -> float:
    from bench.__main__ import cpu_seconds as read

    return read(pids)


def cpu_per_request(port: int, request: Request, pids: list[int], seconds: float, concurrency: int = 2):
    before = cpu_seconds(pids)
    result = run_load(port, request, concurrency, seconds)
    return (cpu_seconds(pids) - before) * 1000 / max(result.requests, 1), result


def measure(root: Path, seconds: float, workers: int = 2) -> Figures:
    load_before = os.getloadavg()[0]
    failures: dict = {}

    def count(result):
        for outcome, number in result.statuses.items():
            if outcome != 200:
                failures[outcome] = failures.get(outcome, 0) + number
        return result

    body = page_png()
    predict = Request("/api/predict", body, "image/png")
    healthz = Request("/healthz", method="GET")
    compare = Request("/api/predict?compare=1", body, "image/png")
    started = time.perf_counter()
    with gunicorn(workers, root=root) as (port, master):
        ready_seconds = wait_ready(port, workers, since=started)
        pids = children(master.pid)
        ready_cpu = (cpu_seconds([master.pid]), max(cpu_seconds([pid]) for pid in pids))
        for request in (predict, compare, healthz):  # every worker has run each path once
            run_load(port, request, workers * 4, 1.0)
        errors = 0
        predict_rate, healthz_rate, ratio = {}, {}, {}
        for concurrency in CONCURRENCY:  # the two take turns, so a drifting machine slows both alike
            reading = count(run_load(port, predict, concurrency, seconds))
            cheapest = count(run_load(port, healthz, concurrency, seconds))
            errors += reading.errors + cheapest.errors
            predict_rate[concurrency], healthz_rate[concurrency] = reading.throughput, cheapest.throughput
            ratio[concurrency] = reading.throughput / max(cheapest.throughput, 1e-9)
        predict_cpu, result = cpu_per_request(port, predict, pids, seconds)
        errors += count(result).errors
        compare_cpu, result = cpu_per_request(port, compare, pids, seconds)
        errors += count(result).errors
        healthz_cpu, result = cpu_per_request(port, healthz, pids, seconds)
        errors += count(result).errors
        mixed = [compare]
        for name in NETWORKS:
            mixed += [Request(f"/api/predict?model={name}", body, "image/png"),
                      Request(f"/api/features?model={name}", body, "image/png"),
                      Request(f"/api/kernels?model={name}", method="GET")]
        result = count(run_load(port, mixed, workers * 2, seconds))
        errors += result.errors
        rss = max(memory_kib(pid)["VmRSS"] for pid in children(master.pid)) / 1024
    return Figures(ready_seconds, ready_cpu, ratio, predict_rate, healthz_rate, predict_cpu, compare_cpu, healthz_cpu, rss, errors,
                   failures, (load_before, os.getloadavg()[0]))


def baseline_tree(ref: str, into: Path) -> Path:
    """A detached git worktree of ``ref`` (the shipped networks come with it), with this checkout's data link."""
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(into), ref], check=True)
    return into


def report(current: Figures, baseline: Figures, ref: str) -> None:
    rows = [(f"/api/predict ÷ /healthz req/s, c={c}", f"{baseline.ratio[c]:.2f}", f"{current.ratio[c]:.2f}", ">= 0.40",
             current.ratio[c] >= 0.4,
             f"{current.predict_rate[c]:.0f} vs {current.healthz_rate[c]:.0f} req/s") for c in CONCURRENCY]
    rows += [
        ("server CPU per reading, /api/predict", f"{baseline.predict_cpu_ms:.2f} ms", f"{current.predict_cpu_ms:.2f} ms",
         "<= 0.80 ms", current.predict_cpu_ms <= 0.8, f"/healthz {current.healthz_cpu_ms:.2f} ms"),
        ("server CPU, ?compare=1 (5 networks + gate)", f"{baseline.compare_cpu_ms:.2f} ms",
         f"{current.compare_cpu_ms:.2f} ms", "<= 1.50 ms", current.compare_cpu_ms <= 1.5, ""),
        ("worker RSS after mixed load (larger worker)", f"{baseline.rss_mib:.0f} MiB", f"{current.rss_mib:.0f} MiB",
         "<= 100 MiB", current.rss_mib <= 100, ""),
        ("gunicorn start to ready", f"{baseline.ready_seconds:.2f} s", f"{current.ready_seconds:.2f} s", "<= 1.00 s",
         current.ready_seconds <= 1.0,
         f"CPU to ready: master {current.ready_cpu[0]:.2f} s + worker {current.ready_cpu[1]:.2f} s "
         f"(baseline {baseline.ready_cpu[0]:.2f} + {baseline.ready_cpu[1]:.2f})"),
    ]
    print(f"issue 24 targets: this checkout beside baseline {ref}, same run, same machine")
    print(f"  answers other than 200: baseline {baseline.failures or 'none'}, now {current.failures or 'none'}")
    print(f"  load average (1 min) at start and end: baseline {baseline.load[0]:.1f}-{baseline.load[1]:.1f}, "
          f"now {current.load[0]:.1f}-{current.load[1]:.1f} on {os.cpu_count()} CPUs: CPU per request and "
          "throughput are only comparable with the issue's quiet-machine figures when these are well under the CPUs")
    print(f"{'figure':<45} {'baseline':>10} {'now':>10} {'target':>11}  met  note")
    for figure, before, now, target, met, note in rows:
        print(f"{figure:<45} {before:>10} {now:>10} {target:>11}  {'yes' if met else 'NO ':<4} {note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.targets", description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git ref of the baseline (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each load")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="digit-lens-baseline-") as scratch:
        tree = baseline_tree(args.baseline, Path(scratch) / "tree")
        try:
            (tree / "data").symlink_to((ROOT / "data").resolve())
            baseline = measure(tree, args.seconds)
            current = measure(ROOT, args.seconds)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    report(current, baseline, args.baseline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
