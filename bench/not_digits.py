"""make eval (part 3): held-out drawings, digits and not, through the API of every served network.

The evaluation drawings of train/drawings.py (``evaluation_drawings``, seed
2027): half digits (a third of them the variants people write: flagged 1s,
crossbar 7s, open 4s, slashed 0s, ...), half not digits (letters that look
like no digit, symbols, dashes, scribbles, taps). Neither the networks nor
the not-a-digit gate were trained on these shapes or this generator
(train/synth.py makes their training drawings). Each is rendered in one of
four polarities and sent to POST /api/predict on gunicorn.

Per class: a digit counts as read right when ``digit`` equals the label; a
not-digit counts as answered with no digit when ``digit`` is null (any
reason); taps should be ``empty``.

    python -m bench.not_digits [--drawings 4000] [--seed 2027]
"""

from __future__ import annotations

import argparse
import http.client
import json
from collections import Counter

import numpy as np

from bench.accuracy import answered, read_all, unanswered_note
from bench.server import gunicorn, wait_ready
from train.drawings import NON_DIGIT_KINDS, POLARITIES, evaluation_drawings, render

FLAGGED_ONES = ("1 style 1", "1 style 2", "1 variant 0", "1 variant 1", "1 variant 2")


def served_models(port: int) -> list[str | None]:
    """Every served network's name (the default first), or [None] when the server has no /api/models."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/api/models")
    response = connection.getresponse()
    body = response.read()
    connection.close()
    if response.status != 200:
        return [None]
    listing = json.loads(body)
    names = [entry["name"] for entry in listing["models"]]
    return [listing["default"], *(name for name in names if name != listing["default"])]


def report(title: str, items, answers: list[dict]) -> dict:
    """Print the per-class figures; return the headline ones."""
    note = unanswered_note(answers)
    read = answered(answers)
    items = [item for item, kept in zip(items, read) if kept]
    answers = [answer for answer, kept in zip(answers, read) if kept]
    digits = np.array([-1 if answer["digit"] is None else answer["digit"] for answer in answers])
    reasons = np.array([answer["reason"] or "read" for answer in answers])
    expected = np.array([item.expected if isinstance(item.expected, int) else -1 for item in items])
    groups = np.array([item.group for item in items])
    names = np.array([item.name for item in items])
    is_digit = expected >= 0
    right = digits == expected
    no_digit = digits == -1
    print(f"{title}")
    if note:
        print(note)
    print(f"  digits: {right[is_digit].mean():.2%} read right ({right[is_digit].sum()}/{is_digit.sum()}); "
          f"answered with no digit {no_digit[is_digit].mean():.2%} "
          f"({', '.join(f'{reason} {count}' for reason, count in Counter(reasons[is_digit & no_digit]).most_common())})")
    print("  per digit  " + " ".join(f"{digit}:{right[expected == digit].mean():.1%}" for digit in range(10)))
    flagged = np.isin(names, FLAGGED_ONES)
    print(f"  flagged 1s {right[flagged].mean():.1%} of {flagged.sum()}; variants {right[groups == 'variant'].mean():.1%} "
          f"of {(groups == 'variant').sum()}")
    misread = Counter((name, str(digit) if digit >= 0 else reason)
                      for name, digit, reason, ok in zip(names[is_digit], digits[is_digit], reasons[is_digit],
                                                         right[is_digit]) if not ok)
    if misread:
        print("  misread: " + ", ".join(f"{name} as {shown} x{count}" for (name, shown), count in misread.most_common(8)))
    print(f"  not digits: {no_digit[~is_digit].mean():.2%} answered with no digit ({no_digit[~is_digit].sum()}/{(~is_digit).sum()})")
    for kind in NON_DIGIT_KINDS:
        mask = groups == kind
        reason_counts = Counter(reasons[mask])
        print(f"    {kind:<9} {no_digit[mask].mean():.1%} of {mask.sum()}  "
              f"({', '.join(f'{reason} {count}' for reason, count in reason_counts.most_common())})")
    passed = Counter(name for name, ok in zip(names[~is_digit], no_digit[~is_digit]) if not ok)
    if passed:
        print("  read as digits: " + ", ".join(f"{name} x{count}" for name, count in passed.most_common(10)))
    return {
        "digits_right": float(right[is_digit].mean()),
        "digits_no_digit": float(no_digit[is_digit].mean()),
        "not_digits_no_digit": float(no_digit[~is_digit].mean()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.not_digits", description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=2027, help="seed of the evaluation drawings")
    args = parser.parse_args(argv)

    items = evaluation_drawings(args.drawings, seed=args.seed)
    pngs = [render(item.drawing, POLARITIES[index % len(POLARITIES)]) for index, item in enumerate(items)]
    with gunicorn(2) as (port, _):
        wait_ready(port, 2)
        models = served_models(port)
        results = {}
        for model in models:
            path = "/api/predict" if model is None else f"/api/predict?model={model}"
            results[model] = read_all(port, pngs, path=path)
    for model, answers in results.items():
        report(f"held-out drawings (seed {args.seed}), {model or 'the default network'} behind the gate", items, answers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
