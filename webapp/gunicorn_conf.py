"""gunicorn settings for digit-lens: ``gunicorn -c python:webapp.gunicorn_conf 'webapp:create_app()'``.

Every name below is a gunicorn setting; the environment can override the
common ones. The app and its networks' LiteRT interpreters are created in
each worker after the fork (see ``preload_app`` below for why).
"""

import os

# One thread per numerical library in each worker. numpy's OpenBLAS (and any OpenMP runtime) starts a
# thread per core when it loads; a worker computes one request at a time on its own thread, and
# WEB_CONCURRENCY workers already use every core, so more threads only contend for the same cores.
# Set before anything in gunicorn's master loads numpy (it imports only the webapp package, which does
# not), so every worker forked from it starts with it. An operator's own setting is kept.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

# /metrics counts every worker (prometheus_client's multiprocess mode): each worker writes its counts to
# files in this folder, and the worker that answers a scrape sums them. It must be set before any worker
# imports prometheus_client, and must start empty, or counts of a previous run would be summed in: a folder
# of our own is made for each start of the master and removed when it exits; an operator who names one
# (PROMETHEUS_MULTIPROC_DIR) has it emptied at start.
_METRICS_FOLDER_OWNED = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
if _METRICS_FOLDER_OWNED:
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="digit-lens-metrics-")

# Where to listen: HOST and PORT, as in `make run`.
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"

# One worker per core: a prediction is CPU work, and each LiteRT interpreter
# runs single-threaded. Each worker holds its own interpreters (56-69 MiB
# resident per worker in all).
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))

# gevent: every connection is a greenlet, so a client that is slow or silent
# costs a socket and a few kB, never one of a few threads (with gthread's 8
# threads, 8 stalled uploads or 200 silent connections starved everyone; see
# make loadtest). gunicorn's docs name an async worker for serving clients
# directly, where the sync and gthread workers need a buffering proxy in
# front. The app reads each body in full, within BODY_TIMEOUT_SECONDS, before
# a request takes one of its WORK_CONCURRENCY work slots, and answers 503
# when a request has queued for a slot for too long.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")
# Connections each worker holds at once, slow ones included; more wait in the
# kernel's accept queue.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
# For GUNICORN_WORKER_CLASS=gthread only (then put a buffering proxy in front).
threads = int(os.environ.get("GUNICORN_THREADS", "8"))

# The app is created in each worker, not in the master. Measured (docs/figures.md,
# "Serving"): the master imports the code anyway (this file lives in the
# webapp package), so preloading gained nothing in cold start (0.6-1.1 s
# either way) and 2 MiB of private memory per worker; interpreters made in
# the worker that uses them need no thought about fork safety.
preload_app = False

# A worker that stops heart-beating this long is killed and replaced. The
# networks load in a background thread (~0.1-0.3 s), so a load never counts
# against it.
timeout = 30

# On SIGTERM, in-flight requests get this long to finish before workers are killed.
graceful_timeout = 20

# Idle keep-alive connections are closed after this many seconds. On gevent
# it is also the deadline for a request's line and headers, the first
# request's included: a connection that sends nothing, or its headers a byte
# at a time (slowloris), is closed after it. 0 would turn that deadline off.
keepalive = 5

# Backstop against slow growth (none measured: see make loadtest): each
# worker is recycled after this many requests, jittered so that they do not
# all restart at once. A recycle costs its worker a ~0.3 s network load. 0 turns it off.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "50000"))
max_requests_jitter = max_requests // 10

# Refuse absurd request lines and headers before the app sees them.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190

# Logs to stderr; the access log is off by default (ACCESS_LOG=- turns it on). LOG_FORMAT=json writes it
# as JSON lines (webapp/logs.py), each with the request's X-Request-ID, and turns it on (to stderr unless
# ACCESS_LOG names a file).
_LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
accesslog = os.environ.get("ACCESS_LOG") or ("-" if _LOG_FORMAT == "json" else None)
if _LOG_FORMAT == "json":
    logger_class = "webapp.logs.JsonLogger"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")

# Quiet TensorFlow's C++ start-up chatter, should anything run it (the bench's baseline does).
raw_env = ["TF_CPP_MIN_LOG_LEVEL=2"]


def post_fork(server, worker):
    """Have this worker write gunicorn's own errors (bad request line, 414, 431, ...) as the app's JSON;
    and have its large arrays returned to the system when freed."""
    _return_large_allocations()
    from gunicorn import util

    from webapp.errors import write_server_error

    util.write_error = write_server_error


# Requests whose answers are computed from many large numpy temporaries (backward passes, every layer's
# maps, dense kernels): after one of them, the worker hands its freed heap pages back (malloc_trim).
# Not after a learning step (/api/learn itself): the trim made the next step fault its ~1,100 heap pages in
# again, a tenth of the step's CPU (docs/learning.md); its heap stays for the next one, within the 100 MiB.
_LARGE_ANSWERS = ("/api/attribution", "/api/learn/", "/api/features", "/api/kernels", "/api/explain")
_LIBC = None


def _return_large_allocations() -> None:
    """Fix glibc's mmap threshold at 2 MiB, so every array larger than that is its own mapping, unmapped
    when freed; smaller ones come from the heap and are reused within a request, and post_request gives
    the heap's free pages back after a request that made many of them.

    Left dynamic, glibc raises the threshold after the first large free (up to 32 MiB) and a worker keeps
    the freed pages of every request's arrays resident. At 128 KiB (this file's earlier choice) every array
    over 128 KiB is a fresh mapping faulted in page by page: a batched backward pass (Integrated Gradients)
    took 15,000 page faults per request and 40% more CPU. Measured on one run, 2 workers, same machine
    (docs/attribution.md): digit-lens Integrated Gradients 72.5 / 68.6 ms of server CPU at 128 KiB,
    52.8 / 50.0 ms at 2 MiB with the trim; all five networks 326 / 256 ms and 190 / 187 ms; worker RSS after
    a mixed load 129 MiB and 128 MiB (137 MiB at 2 MiB without the trim). Not glibc: nothing to do."""
    global _LIBC
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 2 * 1024 * 1024)  # M_MMAP_THRESHOLD
        _LIBC = libc if hasattr(libc, "malloc_trim") else None
    except (OSError, AttributeError):
        _LIBC = None


def post_request(worker, req, environ, resp):
    """After a request with a large answer, give the heap's free pages back to the system (~0.15 ms;
    not after a reading, whose arrays are small)."""
    if _LIBC is not None and req.path.startswith(_LARGE_ANSWERS):
        _LIBC.malloc_trim(0)


def post_worker_init(worker):
    """Start loading the networks in this worker, now that it has forked."""
    import logging

    from webapp import registry

    # The app's own messages (model loaded, errors) go where gunicorn's go.
    app_log = logging.getLogger("webapp")
    app_log.handlers = worker.log.error_log.handlers
    app_log.setLevel(worker.log.error_log.level)
    registry.get_holder(worker.wsgi).start()


def worker_exit(server, worker):
    """Log how many requests this worker started and finished: equal means none was cut off."""
    counts = getattr(worker.wsgi, "extensions", {}).get("digit_lens_requests")
    if counts is not None:
        worker.log.info(
            "worker %s exiting: %d requests started, %d finished", worker.pid, counts.started, counts.finished
        )


def on_starting(server):
    """Empty the metrics folder an operator named, so counts start from zero with the server."""
    if not _METRICS_FOLDER_OWNED:
        from pathlib import Path

        for path in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
            path.unlink()


def child_exit(server, worker):
    """A worker that exits keeps its counts in /metrics, but its memory gauge leaves with it."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics folder this master made."""
    if _METRICS_FOLDER_OWNED:
        import shutil

        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
