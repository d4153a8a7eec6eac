"""The not-a-digit gate on its held-out generator (train/heldout.py), as the exported LiteRT gate answers.

Held out from the gate's training entirely: the DejaVu font family (typed characters bent like
handwriting) and train/drawings.py's strokes (letters, symbols, dashes, scribbles, digits and
variants). "No digit" is what the API would answer: the preprocessing found no stroke, or the
gate's P(not a digit) is above the threshold in its card. In-process, no HTTP; MNIST through the
API is bench.accuracy's figure. ``--record`` writes the figures into the gate's card (``held_out``),
as ``python -m train.gate`` does after training.

    python -m bench.gate_heldout [--gate webapp/artifacts/_gate] [--count 4000] [--record]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from train.heldout import HELD_OUT_SIZE
from webapp.artifacts import ARTIFACTS, CARD_FILE, GATE_FOLDER


def main(argv: list[str] | None = None) -> int:
    from train.gate import held_out_figures

    parser = argparse.ArgumentParser(prog="python -m bench.gate_heldout", description=__doc__.splitlines()[0])
    parser.add_argument("--gate", type=Path, action="append", default=None,
                        help="a gate folder (repeat to compare; default: the shipped one)")
    parser.add_argument("--count", type=int, default=HELD_OUT_SIZE)
    parser.add_argument("--record", action="store_true", help="write the figures into the gate's card")
    args = parser.parse_args(argv)
    for folder in args.gate or [ARTIFACTS / GATE_FOLDER]:
        result = held_out_figures(folder, args.count)
        card = json.loads((folder / CARD_FILE).read_text())
        print(f"gate {folder} (threshold {card['threshold']:.4f}), held-out set of {args.count} "
              f"(seed {result['seed']}):")
        for name, key in (("not digits answered with no digit", "not_digits_rejected"),
                          ("digits answered with no digit", "digits_rejected")):
            share = result[key]
            print(f"  {name}: {share['rate']:.2%} ({share['no_digit']}/{share['count']})")
        for source, part in result["by_source"].items():
            groups = "  ".join(f"{group} {share['rate']:.1%} of {share['count']}"
                               for group, share in part["not_digit_groups"].items())
            print(f"  {source}: not digits {part['not_digits_rejected']['rate']:.2%}, digits "
                  f"{part['digits_rejected']['rate']:.2%}  ({groups})")
        if args.record:
            card["held_out"] = result
            (folder / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
