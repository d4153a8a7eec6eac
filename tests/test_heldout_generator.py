"""The gate's training non-digits and its held-out generator: fonts kept apart, items reproducible, figures right."""

from __future__ import annotations

import numpy as np

from train import synth
from train.fonts import HELD_OUT_FAMILIES, NOT_DIGIT_CHARACTERS, font_files, hand_typed
from train.heldout import HeldOut, figures, held_out_set


def test_training_and_held_out_fonts_are_apart_and_installed():
    training, held_out = font_files(), font_files(held_out=True)
    assert len(training) >= 40 and len(held_out) >= 10, "make fonts installs Debian's font packages"
    assert all(path.name.startswith(HELD_OUT_FAMILIES) for path in held_out)
    assert not [path for path in training if path.name.startswith(HELD_OUT_FAMILIES)]


def test_no_character_that_looks_like_a_digit_is_a_non_digit():
    assert not set(NOT_DIGIT_CHARACTERS) & set("0123456789OoDQIl|/()[]!ZzSsbGTBgqa")


def test_a_typed_character_is_ink_on_black_and_differs_each_time():
    font = font_files()[0]
    first = np.asarray(hand_typed(np.random.default_rng(1), font, "K"))
    second = np.asarray(hand_typed(np.random.default_rng(2), font, "K"))
    assert first.max() == 255 and first[0, 0] == 0
    assert first.shape != second.shape or not np.array_equal(first, second)


def test_the_new_non_digit_makers_draw_something():
    rng = np.random.default_rng(3)
    for maker in (synth.random_strokes, synth.partial_digit, synth.two_digits):
        glyph = maker(rng)
        image = np.asarray(synth.render_glyph(rng, glyph))
        assert glyph and image.max() == 255


def test_synthetic_set_is_reproducible_and_mixes_typed_and_drawn():
    images, labels = synth.synthetic_set(60, seed=5)
    again, labels_again = synth.synthetic_set(60, seed=5)
    assert np.array_equal(images, again) and np.array_equal(labels, labels_again)
    assert (labels == synth.NOT_A_DIGIT).any() and (labels != synth.NOT_A_DIGIT).any()
    assert (images.reshape(60, -1).max(1) > 0).all()


def test_a_held_out_set_is_the_prefix_of_a_larger_one():
    small, large = held_out_set(8, seed=9), held_out_set(12, seed=9)
    assert np.array_equal(small.images, large.head(8).images)
    assert list(small.source) == ["typed", "typed", "drawn", "drawn"] * 2
    assert list(small.is_digit) == [True, False] * 4


def test_figures_count_empty_and_rejected_as_no_digit():
    held_out = HeldOut(images=np.zeros((4, 28, 28), np.uint8), is_digit=np.array([True, True, False, False]),
                       source=np.array(["typed", "drawn", "typed", "drawn"]),
                       group=np.array(["digit", "digit", "letter", "scribble"]),
                       empty=np.array([False, True, False, False]))
    result = figures(held_out, rejected=np.array([False, False, True, False]))
    assert result["digits_rejected"] == {"count": 2, "no_digit": 1, "rate": 0.5}
    assert result["not_digits_rejected"] == {"count": 2, "no_digit": 1, "rate": 0.5}
    assert result["by_source"]["typed"]["not_digit_groups"]["letter"]["rate"] == 1.0
    assert result["by_source"]["drawn"]["not_digit_groups"]["scribble"]["rate"] == 0.0
