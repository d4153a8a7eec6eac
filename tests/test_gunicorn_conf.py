"""webapp.gunicorn_conf: what every worker inherits from gunicorn's master."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = """
import json, os, sys
import webapp.gunicorn_conf
print(json.dumps({"numpy": "numpy" in sys.modules,
                  "threads": [os.environ.get(name) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")]}))
"""


def master_view(tmp_path, **environment: str) -> dict:
    """What loading the config (as gunicorn's master does, before it forks) leaves in a fresh process."""
    env = {key: value for key, value in os.environ.items() if key not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)  # else the config makes a folder of its own
    env.update(environment)
    output = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    return json.loads(output.stdout)


def test_workers_start_with_single_threaded_numerical_libraries(tmp_path):
    """The limit is set before numpy loads in the master, so the workers forked from it keep it."""
    assert master_view(tmp_path) == {"numpy": False, "threads": ["1", "1"]}


def test_an_operators_thread_setting_is_kept(tmp_path):
    assert master_view(tmp_path, OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="3")["threads"] == ["2", "3"]


TRIM_SCRIPT = """
import json, types
import webapp.gunicorn_conf as conf
conf._return_large_allocations()
found = conf._LIBC is not None
trims = []
conf._LIBC = types.SimpleNamespace(malloc_trim=trims.append)
trimmed = []
for path in ("/api/predict", "/", "/healthz", "/api/learn", "/api/attribution", "/api/learn/explain", "/api/features",
             "/api/kernels"):
    count = len(trims)
    conf.post_request(None, types.SimpleNamespace(path=path), {}, None)
    if len(trims) > count:
        trimmed.append(path)
print(json.dumps({"glibc": found, "trimmed": trimmed, "pads": sorted(set(trims))}))
"""


def test_a_worker_gives_back_freed_heap_pages_after_large_answers_only(tmp_path):
    """With the 2 MiB mmap threshold, arrays under it come from the heap: after a backward pass or a
    layers answer the worker trims the heap (malloc_trim), after a reading it does not (~0.15 ms), nor
    after a learning step (the next step would fault its heap pages in again)."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    output = subprocess.run([sys.executable, "-c", TRIM_SCRIPT], env=env, capture_output=True, text=True, check=True)
    assert json.loads(output.stdout) == {
        "glibc": True,
        "trimmed": ["/api/attribution", "/api/learn/explain", "/api/features", "/api/kernels"],
        "pads": [0],
    }
