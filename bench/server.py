"""Start and stop the real gunicorn server for benchmarks and evaluations."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / ".bench"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (gunicorn's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def memory_kib(pid: int) -> dict[str, int]:
    """Current (VmRSS) and peak (VmHWM) resident memory of a process, in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(value.split()[0])
    return values


def wait_ready(port: int, workers: int, timeout: float = 120.0, since: float | None = None) -> float:
    """Poll /readyz until every worker has answered 200 (each connection lands on some worker).

    Returns the seconds from ``since`` (a ``time.perf_counter()``; default: the
    call) until the first 200 of the final run of 200s: many fresh connections
    in a row all ready means every worker was ready from then on; the
    confirming polls after it are not counted.
    """
    started = time.perf_counter()
    ready_streak = 0
    streak_started = started
    while time.perf_counter() - started < timeout:
        polled = time.perf_counter()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/readyz")
            status = connection.getresponse().status
            connection.close()
        except OSError:
            status = None
        if status == 200:
            if ready_streak == 0:
                streak_started = polled
            ready_streak += 1
        else:
            ready_streak = 0
        if ready_streak >= 10 * workers:
            return streak_started - (started if since is None else since)
        time.sleep(0.02 if status == 200 else 0.01)
    raise TimeoutError(f"the server on port {port} was not ready within {timeout} s")


@contextmanager
def gunicorn(workers: int = 2, extra_env: dict[str, str] | None = None, app: str = "webapp:create_app()",
             root: Path = ROOT):
    """Run ``gunicorn -c python:webapp.gunicorn_conf APP`` on a free port; yields (port, master process).

    ``root``: the source tree to serve (another checkout, e.g. a baseline commit's, runs its own code).
    """
    port = free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": str(workers)}
    if root != ROOT:
        env["PYTHONPATH"] = str(root)
    env.update(extra_env or {})
    LOG_DIR.mkdir(exist_ok=True)
    log = open(LOG_DIR / "gunicorn.log", "ab")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:webapp.gunicorn_conf", app],
        cwd=root,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        yield port, process
    finally:
        stop(process)
        log.close()


def stop(process: subprocess.Popen, how: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> None:
    """Ask ``process`` to stop with ``how`` (SIGTERM: gunicorn's graceful stop), and kill it if it has not
    exited within ``timeout`` seconds."""
    process.send_signal(how)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
