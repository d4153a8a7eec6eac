"""gunicorn settings for digit-lens: ``gunicorn -c python:webapp.gunicorn_conf 'webapp:create_app()'``.

Every name below is a gunicorn setting; the environment can override the
common ones. The app and its networks' LiteRT interpreters are created in
each worker after the fork (see ``preload_app`` below for why).
"""

import os

# Where to listen: HOST and PORT, as in `make run`.
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"

# One worker per core: a prediction is CPU work, and each LiteRT interpreter
# runs single-threaded. Each worker holds its own interpreters (56-69 MiB
# resident per worker in all).
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))

# Threads let a worker answer /healthz and /readyz while its model loads in
# the background and keep reading requests while images are processed; the
# app itself runs at most WORK_CONCURRENCY image readings at once per worker
# and answers 503 when a request has queued for too long.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "8"))

# The app is created in each worker, not in the master. Measured (README,
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

# Idle keep-alive connections are closed after this many seconds.
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

# Logs to stderr; the access log is off by default (ACCESS_LOG=- turns it on).
accesslog = os.environ.get("ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")

# Quiet TensorFlow's C++ start-up chatter, should anything run it (the bench's baseline does).
raw_env = ["TF_CPP_MIN_LOG_LEVEL=2"]


def post_worker_init(worker):
    """Start loading the networks in this worker, now that it has forked."""
    import logging

    from webapp import model

    # The app's own messages (model loaded, errors) go where gunicorn's go.
    app_log = logging.getLogger("webapp")
    app_log.handlers = worker.log.error_log.handlers
    app_log.setLevel(worker.log.error_log.level)
    model.get_holder(worker.wsgi).start()


def worker_exit(server, worker):
    """Log how many requests this worker started and finished: equal means none was cut off."""
    counts = getattr(worker.wsgi, "extensions", {}).get("digit_lens_requests")
    if counts is not None:
        worker.log.info(
            "worker %s exiting: %d requests started, %d finished", worker.pid, counts.started, counts.finished
        )
