"""make bench: POST /api/attribution beside /api/predict, in the same run, on the real server.

Starts the real server (``webapp.gunicorn_conf``, 2 workers) and sends one
request at a time: /api/predict, then each attribution method on digit-lens
(Integrated Gradients with ``steps=64``), then each method for all five
networks side by side (``compare=1``, one request, as the /why page asks).
The workers' CPU time per request is the figure (as ``python -m bench``
measures it): on a shared machine it moves far less than latency. Then, in
this process, the attribution computation alone per network and method
(CPU time of ``webapp.attribution``, no HTTP, no PNG, no JSON), to show where
the time goes. Prints figures; passes or fails nothing.

    python -m bench.attribution [--seconds 3]
"""

from __future__ import annotations

import os

# numpy's OpenBLAS starts a thread per core; on a shared machine its waiting threads spin and
# count as CPU time (3x here under load). A worker serves one request per thread, so the
# attribution runs single-threaded, here and in the server this starts (set before numpy loads).
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
for _name, _value in SINGLE_THREADED.items():
    os.environ.setdefault(_name, _value)

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402

import numpy as np  # noqa: E402

from bench.__main__ import cpu_seconds  # noqa: E402
from bench.load import Request, page_png, run_load  # noqa: E402
from bench.server import children, gunicorn, wait_ready  # noqa: E402

METHODS = ("occlusion", "saliency", "gradient-x-input", "grad-cam", "integrated-gradients")
TARGETS_MS = {"one network": 60.0, "all five networks": 250.0}  # issue 20's targets, server CPU per request


def endpoints() -> list[tuple[str, str, str]]:
    """(group, label, path) of every measured request."""
    rows = [("baseline", "/api/predict", "/api/predict")]
    for method in METHODS:
        steps = "&steps=64" if method == "integrated-gradients" else ""
        rows.append(("one network", f"digit-lens {method}", f"/api/attribution?model=digit-lens&method={method}{steps}"))
    for method in METHODS:
        steps = "&steps=64" if method == "integrated-gradients" else ""
        rows.append(("all five networks", f"compare=1 {method}", f"/api/attribution?method={method}&compare=1{steps}"))
    return rows


def answer_of(port: int, path: str, body: bytes, tries: int = 10) -> dict:
    """The answer to one request; a 503 busy (the worker's loop still catching up) is asked again."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers={"Content-Type": "image/png"})
    for _ in range(tries - 1):
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code != 503:
                raise
            time.sleep(1.0)
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def in_process(body: bytes, repeats: int) -> None:
    """CPU ms of the attribution computation alone, per network and method (this process, one thread)."""
    from webapp import attribution
    from webapp.registry import Registry
    from webapp.preprocess import prepare

    registry = Registry.load()
    prepared = prepare(body)
    print(f"\nthe computation alone, CPU ms (median of {repeats}), in this process:")
    print(f"{'network':<16}" + "".join(f"{method:>22}" for method in METHODS))
    for name in registry.names:
        network = registry.get(name)
        image = network.input_image(prepared.image)
        target = int(np.argmax(network.predict(prepared.image)))
        top = attribution.score_layer(network.layers)

        def logits_of(batch):
            return np.stack([network.features(one)[top] for one in batch])

        cells = []
        for method in METHODS:
            times = []
            for _ in range(repeats + 1):
                started = time.process_time()
                result = attribution.attribute(method, network.layers, network.kernels(), image, target, logits_of=logits_of)
                times.append((time.process_time() - started) * 1000)
            extra = f" ({result.details['completeness']['steps']} st)" if method == "integrated-gradients" else ""
            cells.append(f"{np.median(times[1:]):.1f}{extra}")
        print(f"{name:<16}" + "".join(f"{cell:>22}" for cell in cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.attribution", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each measurement")
    parser.add_argument("--min-requests", type=int, default=8, help="at least this many requests per endpoint")
    parser.add_argument("--repeats", type=int, default=5, help="in-process repeats per network and method")
    args = parser.parse_args(argv)

    body = page_png()
    rows = endpoints()
    results = {}
    with gunicorn(2, extra_env=SINGLE_THREADED) as (port, master):
        wait_ready(port, 2)
        pids = children(master.pid)
        details = {}
        for _, label, path in rows:  # warm every path on both workers, and keep what it answered
            run_load(port, Request(path, body, "image/png"), 2, 0.5, max_requests=2, timeout=120.0)
            answer = answer_of(port, path, body)
            if "completeness" in answer:
                details[label] = f"{answer['completeness']['steps']} steps"
            elif "compare" in answer and "completeness" in answer["compare"][0]:
                details[label] = "steps " + "/".join(str(entry["completeness"]["steps"]) for entry in answer["compare"])
        for group, label, path in rows:
            before = cpu_seconds(pids)
            deadline = time.perf_counter() + args.seconds
            result = run_load(port, Request(path, body, "image/png"), 1, args.seconds, timeout=120.0)
            while result.requests < args.min_requests and time.perf_counter() < deadline + 60:
                more = run_load(port, Request(path, body, "image/png"), 1, args.seconds, timeout=120.0)
                result.latencies_ms = np.concatenate([result.latencies_ms, more.latencies_ms])
                result.outcomes += more.outcomes
            # Per answered request: a 503 busy (the loop still catching up after a long one) costs ~nothing.
            answered = result.requests - result.errors
            cpu_ms = (cpu_seconds(pids) - before) * 1000 / max(answered, 1)
            results[label] = (group, result, cpu_ms)

    print(f"server: gunicorn, 2 workers, numpy single-threaded, one request at a time; "
          f"request body {len(body)} byte PNG (a drawn 5)")
    print(f"{'request':<34} {'p50 ms':>8} {'server CPU ms/answer':>20} {'target':>8} {'requests':>9} {'errors':>7}  notes")
    for label, (group, result, cpu_ms) in results.items():
        target = TARGETS_MS.get(group)
        verdict = "" if target is None else (f"<= {target:.0f}" if cpu_ms <= target else f"> {target:.0f}")
        print(f"{label:<34} {result.percentile(50):8.1f} {cpu_ms:20.1f} {verdict:>8} {result.requests:9d} "
              f"{result.errors:7d}  {details.get(label, '')}")
    predict = results["/api/predict"][2]
    print(f"\n/api/predict's server CPU per request in the same run: {predict:.2f} ms")
    in_process(body, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
