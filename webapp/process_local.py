"""State that belongs to one app in one process: created on first use, rebuilt after a fork."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar

from flask import Flask

T = TypeVar("T")

_lock = threading.Lock()


def per_process(app: Flask, key: str, make: Callable[[], T]) -> T:
    """The object stored under ``key`` for ``app`` in this process, made by ``make()`` when missing.

    A gunicorn worker is a fork: an object made in the parent (a model, a
    lock) must never be used in the child, so each process makes its own.
    """
    with _lock:
        value, pid = app.extensions.get(key, (None, None))
        if value is None or pid != os.getpid():
            value = make()
            app.extensions[key] = (value, os.getpid())
        return value
