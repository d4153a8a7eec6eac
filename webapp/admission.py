"""Admission control: what a request must get through before a view does any work.

- Its body is read whole before any view runs, within BODY_TIMEOUT_SECONDS
  and MAX_CONTENT_LENGTH (``read_body``), so a slow or stalled client holds a
  greenlet, never a work slot.
- A view that reads an image runs in one of WORK_CONCURRENCY work slots
  (``admitted``); one that waits longer than QUEUE_TIMEOUT_SECONDS for a slot,
  or arrives while this process's gevent loop runs later than that
  (``EventLoopLag``), is answered 503 busy.
- Every request is counted as started and finished (``RequestCounts``), so a
  worker's shutdown log shows whether any was cut off.
- Long numpy work (a learning step, Integrated Gradients, a probe of 1,000
  digits) runs through ``offload``: on gevent in the hub's thread pool, so the
  event loop keeps answering this worker's other requests meanwhile instead
  of falling behind until ``EventLoopLag`` refuses them all.

``init_app(app)`` installs the counting and the body reading; views opt in to
the slots with ``@admitted``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import io
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from webapp import metrics
from webapp.errors import ApiError
from webapp.process_local import per_process

T = TypeVar("T")


def init_app(app: Flask) -> None:
    """Count every request, and read each body within its deadline before any view runs."""
    _count_requests(app)  # first, so that every request that ends was counted as started
    app.before_request(read_body)


class RequestCounts:
    """Requests this process has started and finished: equal when none is in flight."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = 0
        self.finished = 0

    def start(self) -> None:
        with self._lock:
            self.started += 1

    def finish(self, error: BaseException | None = None) -> None:
        with self._lock:
            self.finished += 1


def _count_requests(app: Flask) -> None:
    # gunicorn's worker_exit hook logs these, so a shutdown shows whether any request was cut off.
    counts = RequestCounts()
    app.extensions["digit_lens_requests"] = counts
    app.before_request(counts.start)
    app.teardown_request(counts.finish)


def read_body() -> None:
    """Read the whole request body before any view runs, within a deadline and the size limit.

    A view then holds a work slot only for work, never while a slow or
    stalled client is still sending. A body over MAX_CONTENT_LENGTH is a 413
    (one sent chunked, with no Content-Length, too: Werkzeug's stream would
    stop quietly at the limit and the view would read it truncated; one whose
    declared chunk sizes pass the limit as soon as the size line arrives); one that
    does not arrive within BODY_TIMEOUT_SECONDS is a 408; a malformed chunked
    body or a connection that ends early is a 400. Everything after sees an
    ordinary request whose body is in memory.
    """
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    length = request.content_length
    stream = request.environ["wsgi.input"]
    if length is not None and length > limit:
        _refuse_body(stream, length, limit)
        raise RequestEntityTooLarge()
    if length is None:
        _refuse_chunks_past(stream, limit)
    try:
        with _deadline(float(current_app.config["BODY_TIMEOUT_SECONDS"])):
            body = stream.read(limit + 1 if length is None else length)
    except ChunksPastLimit:
        raise RequestEntityTooLarge() from None
    except BodyTimeout:
        metrics.body_timeout()
        raise ApiError(
            408, "body-timeout",
            f"the request body did not arrive within {current_app.config['BODY_TIMEOUT_SECONDS']:g} s of its "
            "headers; send the whole request at once",
        ) from None
    except Exception:  # noqa: BLE001 - the server's reader says how the framing was broken, in its own classes
        raise ApiError(
            400, "invalid-body",
            "the request body could not be read: its chunked encoding is malformed or the connection ended "
            "before the body did; send a complete body with Content-Length or valid chunked encoding",
        ) from None
    if len(body) > limit:
        raise RequestEntityTooLarge()
    if length is not None and len(body) < length:
        raise ApiError(400, "invalid-body", f"the connection ended after {len(body)} of the {length} bytes "
                       "Content-Length announced; send the whole body")
    request.environ["wsgi.input"] = io.BytesIO(body)
    request.environ["CONTENT_LENGTH"] = str(len(body))
    request.environ.pop("HTTP_TRANSFER_ENCODING", None)
    request.environ.pop("wsgi.input_terminated", None)


def _refuse_body(stream, length: int, limit: int) -> None:
    """Deal with the unread body of a request refused for its Content-Length, before the 413.

    gunicorn discards an unread body before the connection's next request 1 KiB at a time, copying its
    whole read-ahead buffer on each read: for a 4 MiB body that is gigabytes of copying in one greenlet,
    which held a worker's CPU past its 30 s heartbeat (killed and replaced, its other requests lost). Up to
    twice the limit the body is read here in one piece within the body deadline, as an accepted body would
    be, and the connection stays usable; beyond that, or when it does not arrive in time, gunicorn is
    told the body failed, and closes the connection after the 413 instead of reading on.
    """
    if length <= 2 * limit:
        try:
            with _deadline(float(current_app.config["BODY_TIMEOUT_SECONDS"])):
                if len(stream.read(length)) == length:
                    return
        except Exception:  # noqa: BLE001 - a timeout or a broken connection: close it, below
            pass
    if hasattr(stream, "failed"):  # gunicorn's Body
        stream.failed = True


class ChunksPastLimit(Exception):
    """The chunks a client declared add up to more than the body limit."""


def _refuse_chunks_past(stream, limit: int) -> None:
    """Make gunicorn's chunked reader fail as soon as the chunk sizes declared pass ``limit``.

    Each chunk's size line says how many bytes follow, so a body past the limit is known before its bytes
    arrive: a client that declares 2**64 bytes and sends four (or none) is answered 413 at once, where a
    reader that waits for the bytes holds it until the body deadline (then 408). gunicorn's reader
    (``wsgi.input.reader``) parses each size line with its ``parse_chunk_size``; this wraps that method on
    this request's reader only, before the first read. When the wrapper raises, gunicorn marks the body
    failed and closes the connection instead of reading on. Other servers' readers are read to the limit.
    """
    reader = getattr(stream, "reader", None)
    parse = getattr(reader, "parse_chunk_size", None)
    if parse is None:
        return
    declared = 0

    def parse_chunk_size(*args, **kwargs):
        nonlocal declared
        size, rest = parse(*args, **kwargs)
        declared += size
        if declared > limit:
            raise ChunksPastLimit(declared)
        return size, rest

    reader.parse_chunk_size = parse_chunk_size


class BodyTimeout(Exception):
    """The request body did not arrive in time."""


def _deadline(seconds: float) -> contextlib.AbstractContextManager:
    """Raise BodyTimeout in this request after ``seconds``: on gevent, where a
    waiting read can be interrupted; elsewhere (tests, a threaded server) no limit."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("socket"):
        import gevent

        return gevent.Timeout(seconds, BodyTimeout)
    return contextlib.nullcontext()


def _work_slots() -> threading.BoundedSemaphore:
    """This process's slots for reading images."""
    app = current_app._get_current_object()
    return per_process(app, "digit_lens_slots", lambda: threading.BoundedSemaphore(int(app.config["WORK_CONCURRENCY"])))


class EventLoopLag:
    """How far behind this process's gevent loop is: the queue a slot cannot see.

    On gevent a request never yields while it computes, so it always finds a
    work slot free: under a flood, requests wait instead for their turn on the
    event loop, before they reach the app, and that wait grows without a
    bound. A greenlet that asks to wake every ``interval`` seconds measures
    it: how late it wakes (or has been waiting to) is how long anything that
    became ready now waits to run (as Node's toobusy does).
    """

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self._due = time.monotonic() + interval
        self._last_lag = 0.0
        import gevent

        gevent.spawn(self._tick)  # not a Thread: its start() would wait, inside per_process's lock

    def _tick(self) -> None:
        while True:
            time.sleep(self.interval)
            now = time.monotonic()
            self._last_lag = max(0.0, now - self._due)
            self._due = now + self.interval

    def seconds(self) -> float:
        """The latest lag, or more if the ticker is overdue right now."""
        return max(self._last_lag, time.monotonic() - self._due)


def _event_loop_lag() -> EventLoopLag | None:
    """This process's lag monitor when it runs on gevent (elsewhere threads wait at the slots)."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("time"):
        return None
    return per_process(current_app._get_current_object(), "digit_lens_loop_lag", EventLoopLag)


def admitted(view: Callable[[], Response]) -> Callable[[], Response]:
    """Run ``view`` in one of a few work slots; a request that waits too long for one is answered 503.

    Requests beyond the slots wait here, in a queue the app can see, rather
    than all decoding at once and thrashing the GIL; when the wait passes
    QUEUE_TIMEOUT_SECONDS the server is overloaded and says so, instead of
    letting latency grow without bound.
    """

    @functools.wraps(view)
    def wrapper() -> Response:
        budget = float(current_app.config["QUEUE_TIMEOUT_SECONDS"])
        lag = _event_loop_lag()
        slots = _work_slots()
        if (lag is not None and lag.seconds() > budget) or not slots.acquire(timeout=budget):
            metrics.shed()
            raise ApiError(503, "busy", "the server is overloaded right now; retry in a moment", {"Retry-After": "1"})
        try:
            return view()
        finally:
            slots.release()

    return wrapper


def offload(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)``, run off the gevent event loop when this process runs on gevent.

    On gevent every request shares one OS thread: a view that computes for
    200 ms holds the loop for 200 ms, and every other request of the worker
    waits, or is refused 503 "busy" once the loop is late by more than
    QUEUE_TIMEOUT_SECONDS (``EventLoopLag``). Here the work runs in the hub's
    thread pool (a real thread) while this greenlet waits, so the loop goes
    on serving. numpy releases the GIL in its heavy loops; pure Python work
    still yields it every ``sys.getswitchinterval()`` (5 ms). Elsewhere (the
    tests' client, a threaded server) it is a direct call.

    The caller's context variables go with it, so ``function`` may read
    ``current_app``; the return value comes back and an exception is raised
    here, as from a direct call. Use it for work over ~20 ms, inside the
    view's work slot (``@admitted``), which still bounds how many run at once.
    """
    if not _on_gevent():
        return function(*args, **kwargs)
    import gevent

    context = contextvars.copy_context()
    return gevent.get_hub().threadpool.apply(context.run, (function, *args), kwargs)


def _on_gevent() -> bool:
    """Whether this process runs on gevent's loop (gunicorn's gevent worker patches time, socket, threads)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("time")
