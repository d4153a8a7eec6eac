"""The gate's HELD-OUT generator: digits and non-digits made in ways its training never sees.

Two sources, alternating, neither used by ``train/gate.py``:

- typed: characters typed in the held-out font family (``train.fonts.HELD_OUT_FAMILIES``,
  DejaVu: 21 faces, Sans, Serif, Mono, Condensed, ExtraLight, bold and oblique), bent like
  handwriting by ``train.fonts.hand_typed``. Non-digits are the letters and symbols of
  ``NOT_DIGIT_CHARACTERS`` and two digits side by side; digits are single digits.
- drawn: ``train/drawings.py``'s evaluation strokes (its own letters, symbols, dashes, scribbles,
  digit styles and variants, its own pen and wobble), rendered to PNG and prepared by the
  server's ``webapp.preprocess.prepare`` exactly as a request's PNG is. Taps are left out: the
  emptiness check answers them, not the gate.

Every item has its own random generator seeded by (seed, index), so the first ``n`` items of any
larger set are the same: a test can check a small prefix against the figures the card records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HELD_OUT_SEED = 4049
HELD_OUT_SIZE = 4000
TYPED_PAIR_FRACTION = 0.2  # of the typed non-digits: two digits side by side


@dataclass(frozen=True)
class HeldOut:
    """Held-out images in MNIST format and what they are."""

    images: np.ndarray  # (n, 28, 28) uint8
    is_digit: np.ndarray  # (n,) bool
    source: np.ndarray  # "typed" or "drawn"
    group: np.ndarray  # "digit", "letter", "symbol", "pair", "dash", "scribble", "variant"
    empty: np.ndarray  # the preprocessing found no stroke (the API answers "empty", no digit)

    def head(self, count: int) -> HeldOut:
        """The first ``count`` items (the same as ``held_out_set(count)`` would make)."""
        return HeldOut(self.images[:count], self.is_digit[:count], self.source[:count], self.group[:count],
                       self.empty[:count])


def _typed_item(rng: np.random.Generator, digit: bool):
    from train.fonts import DIGIT_CHARACTERS, NOT_DIGIT_CHARACTERS, font_files, hand_typed

    files = font_files(held_out=True)
    if digit:
        text, group = DIGIT_CHARACTERS[int(rng.integers(10))], "digit"
    elif rng.uniform() < TYPED_PAIR_FRACTION:
        text, group = "".join(DIGIT_CHARACTERS[int(i)] for i in rng.integers(0, 10, size=2)), "pair"
    else:
        text = NOT_DIGIT_CHARACTERS[int(rng.integers(len(NOT_DIGIT_CHARACTERS)))]
        group = "letter" if text.isalpha() else "symbol"
    while True:  # a face that lacks the character: another face
        image = hand_typed(rng, files[int(rng.integers(len(files)))], text)
        if image is not None:
            return image, group


def _drawn_item(rng: np.random.Generator, digit: bool):
    from train import drawings

    if digit:
        value = int(rng.integers(10))
        variants = drawings.VARIANTS.get(value, [])
        if variants and rng.uniform() < 1 / 3:
            return drawings.shaped_drawing(rng, variants[int(rng.integers(len(variants)))], digit=value), "variant"
        return drawings.random_drawing(rng, value), "digit"
    kind = ("letter", "symbol", "dash", "scribble")[int(rng.integers(4))]
    if kind == "scribble":
        return drawings.shaped_drawing(rng, drawings.scribble(rng)), kind
    names = [name for name, (group, _) in drawings.NON_DIGITS.items() if group == kind]
    return drawings.shaped_drawing(rng, drawings.NON_DIGITS[names[int(rng.integers(len(names)))]][1]), kind


def held_out_set(count: int = HELD_OUT_SIZE, seed: int = HELD_OUT_SEED) -> HeldOut:
    """``count`` held-out items: index % 4 is 0, 1 typed (digit, not), 2, 3 drawn (digit, not)."""
    from train import drawings
    from webapp.preprocess import prepare, to_mnist

    images, is_digit, sources, groups, empty = [], [], [], [], []
    for index in range(count):
        rng = np.random.default_rng([seed, index])
        digit = index % 2 == 0
        if index % 4 < 2:
            image, group = _typed_item(rng, digit)
            prepared, source = to_mnist(image), "typed"
        else:
            drawing, group = _drawn_item(rng, digit)
            polarity = drawings.POLARITIES[(index // 4) % len(drawings.POLARITIES)]
            prepared, source = prepare(drawings.render(drawing, polarity)), "drawn"
        images.append(prepared.image)
        is_digit.append(digit)
        sources.append(source)
        groups.append(group)
        empty.append(prepared.empty)
    return HeldOut(np.stack(images).astype(np.uint8), np.array(is_digit), np.array(sources), np.array(groups),
                   np.array(empty))


def figures(held_out: HeldOut, rejected: np.ndarray) -> dict:
    """What the API answers with no digit (empty, or rejected by the gate), per class, source and group."""
    no_digit = held_out.empty | rejected
    digits, not_digits = held_out.is_digit, ~held_out.is_digit

    def share(mask: np.ndarray) -> dict:
        return {"count": int(mask.sum()), "no_digit": int(no_digit[mask].sum()),
                "rate": round(float(no_digit[mask].mean()), 5) if mask.any() else None}

    result = {"digits_rejected": share(digits), "not_digits_rejected": share(not_digits), "by_source": {}}
    for source in ("typed", "drawn"):
        mask = held_out.source == source
        result["by_source"][source] = {
            "digits_rejected": share(mask & digits),
            "not_digits_rejected": share(mask & not_digits),
            "not_digit_groups": {group: share(mask & not_digits & (held_out.group == group))
                                 for group in sorted(set(held_out.group[mask & not_digits]))},
        }
    return result
