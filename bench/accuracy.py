"""make eval: accuracy of the whole pipeline, through the real HTTP path.

Two sets go through gunicorn and POST /api/predict as PNGs:
- MNIST's 10,000 test digits, each enlarged to a 280x280 canvas and drawn
  dark on transparent, as the page would send it: what preprocessing costs on
  MNIST itself;
- drawings that are not MNIST (train/drawings.py): several styles per digit,
  random size, place, slant, rotation, pen width, wobble and polarity.

A reading counts as right only when ``digit`` equals the label: an
"uncertain" or "empty" answer counts as wrong.

    python -m bench.accuracy [--drawings 2000] [--mnist 10000]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from bench.server import gunicorn, wait_ready
from train import data
from train.drawings import POLARITIES, drawing_set


def enlarged(image: np.ndarray, size: int = 280) -> np.ndarray:
    """An MNIST digit's ink (0..255) enlarged to a canvas's size, bilinear."""
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR))


def canvas_png(ink: np.ndarray) -> bytes:
    """Ink (0..255, any size) as the page's canvas sends it: dark ink on a transparent background, as PNG."""
    canvas = np.zeros((*ink.shape, 4), dtype=np.uint8)
    canvas[..., 3] = ink
    buffer = io.BytesIO()
    Image.fromarray(canvas).save(buffer, "PNG")
    return buffer.getvalue()


def mnist_canvas(image: np.ndarray, size: int = 280) -> bytes:
    """An MNIST digit as a canvas would hold it: enlarged, dark ink on a transparent background."""
    return canvas_png(enlarged(image, size))


# A 503 (busy, or the networks still loading) says when to ask again (Retry-After); an image is asked
# again until this many seconds have passed since its first answer of 503, then reported unanswered.
RETRY_FOR_SECONDS = 120.0
MAX_RETRY_AFTER_SECONDS = 10.0


def read_all(port: int, images: list[bytes], threads: int = 2, path: str = "/api/predict") -> list[dict]:
    """POST every image to ``path`` (/api/predict), two connections at a time.

    An answer of 503 is asked again after its Retry-After, for up to RETRY_FOR_SECONDS; a connection
    the server closed is opened again. An image that still gets no 200 (or a 200 that is not a
    reading) comes back as ``{"unanswered": <status or error>}`` instead of a reading: see ``answered``.
    """

    def read_one(connection: http.client.HTTPConnection, png: bytes) -> tuple[http.client.HTTPConnection, dict]:
        retry_until = None
        while True:
            try:
                connection.request("POST", path, body=png, headers={"Content-Type": "image/png"})
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status, retry_after = type(error).__name__, 1.0
            else:
                if response.status == 200:
                    try:
                        answer = json.loads(body)
                    except ValueError:
                        return connection, {"unanswered": "200 without JSON"}
                    return connection, answer if "digit" in answer else {"unanswered": "200 without a digit"}
                status = response.status
                if status != 503:
                    return connection, {"unanswered": status}
                try:
                    retry_after = min(float(response.getheader("Retry-After", "1")), MAX_RETRY_AFTER_SECONDS)
                except ValueError:
                    retry_after = 1.0
            now = time.monotonic()
            retry_until = retry_until or now + RETRY_FOR_SECONDS
            if now + retry_after >= retry_until:
                return connection, {"unanswered": status}
            time.sleep(retry_after)

    def read_chunk(chunk: list[bytes]) -> list[dict]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        answers = []
        for png in chunk:
            connection, answer = read_one(connection, png)
            answers.append(answer)
        connection.close()
        return answers

    chunks = [images[index::threads] for index in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(read_chunk, chunks))
    # Undo the interleaving.
    answers: list[dict] = [{}] * len(images)
    for index, part in enumerate(parts):
        answers[index::threads] = part
    return answers


def answered(answers: list[dict]) -> np.ndarray:
    """Which answers are readings (the others got no 200 even after retrying: left out of every figure)."""
    return np.array(["unanswered" not in answer for answer in answers], dtype=bool)


def unanswered_note(answers: list[dict]) -> str:
    """"" when every image was read, else how many were not and why (status or error, with counts)."""
    failures = Counter(str(answer["unanswered"]) for answer in answers if "unanswered" in answer)
    if not failures:
        return ""
    reasons = ", ".join(f"{reason} x{count}" for reason, count in failures.most_common())
    return f"  UNANSWERED {sum(failures.values())} of {len(answers)} ({reasons}): left out of the figures below"


def report(title: str, labels: np.ndarray, answers: list[dict], groups: dict[str, np.ndarray] | None = None) -> float:
    note = unanswered_note(answers)
    read = answered(answers)
    labels, answers = labels[read], [answer for answer, kept in zip(answers, read) if kept]
    groups = {name: mask[read] for name, mask in (groups or {}).items()}
    digits = np.array([-1 if answer["digit"] is None else answer["digit"] for answer in answers], dtype=int)
    best = np.array([int(np.argmax(answer["probabilities"])) for answer in answers], dtype=int)
    right = digits == labels
    print(f"{title}: {right.mean():.2%} read right ({right.sum()}/{len(labels)}); "
          f"argmax {np.mean(best == labels):.2%}; no digit (uncertain/empty/not-a-digit) {np.mean(digits == -1):.2%}")
    if note:
        print(note)
    per_digit = " ".join(f"{digit}:{right[labels == digit].mean():.1%}" for digit in range(10))
    print(f"  per digit  {per_digit}")
    for name, mask in groups.items():
        print(f"  {name:<22} {right[mask].mean():.2%} of {mask.sum()}")
    return float(right.mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.accuracy", description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=int, default=10000, help="MNIST test digits to send")
    parser.add_argument("--drawings", type=int, default=2000, help="synthetic drawings to send")
    parser.add_argument("--seed", type=int, default=7, help="seed of the drawing set")
    args = parser.parse_args(argv)

    mnist = data.load()
    mnist_images = [mnist_canvas(image) for image in mnist.test_images[: args.mnist]]
    drawings = drawing_set(args.drawings, seed=args.seed)
    with gunicorn(2) as (port, _):
        wait_ready(port, 2)
        mnist_answers = read_all(port, mnist_images)
        drawing_answers = read_all(port, [png for _, png in drawings])

    report("MNIST test digits as 280x280 canvases", mnist.test_labels[: args.mnist], mnist_answers)
    labels = np.array([digit for digit, _ in drawings])
    polarity = np.array([POLARITIES[(index // 10) % len(POLARITIES)] for index in range(len(drawings))])
    report(
        f"drawings (not MNIST, seed {args.seed})",
        labels,
        drawing_answers,
        {name: polarity == name for name in POLARITIES},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
