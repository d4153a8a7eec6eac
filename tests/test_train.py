"""The real training code on a small subset: it runs, saves a model that loads and answers, and is reproducible."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from train.augment import AugmentConfig, augment_batch
from train.data import Mnist


@pytest.fixture(scope="module")
def subset(mnist) -> Mnist:
    return Mnist(mnist.train_images[:1200], mnist.train_labels[:1200], mnist.test_images[:300], mnist.test_labels[:300])


def test_smoke_run_writes_a_model_that_loads_and_answers(tmp_path, mnist, monkeypatch):
    import keras

    from train import __main__ as command
    from train import data

    monkeypatch.setattr(data, "load", lambda folder=None: mnist)
    status = command.main(
        ["--model", "digit-lens", "--epochs", "2", "--limit", "1500", "--out", str(tmp_path), "--verbose", "0"]
    )
    assert status == 0
    folder = tmp_path / "digit-lens"
    card = json.loads((folder / "card.json").read_text())
    assert card["test"]["images"] == 1500
    assert card["training"]["epochs"] == 2 and len(card["training"]["history"]["val_accuracy"]) == 2
    assert np.array(card["test"]["confusion_matrix"]).sum() == 1500
    assert card["data"]["sha256"]["t10k-images-idx3-ubyte"].startswith("0fa7898d")
    assert {"tensorflow", "keras", "numpy", "python"} <= set(card["versions"])
    for figure in ("confusion_matrix.png", "learning_curve.png"):
        assert (folder / figure).read_bytes().startswith(b"\x89PNG")

    # Exported for serving, and checked against Keras on the tested images.
    assert card["litert"]["same_digit"] == card["litert"]["images"] == 1500
    assert card["litert"]["max_probability_difference"] <= 1e-5
    assert len(card["test"]["predictions"]) == 1500
    model = keras.saving.load_model(folder / "model.keras")
    probabilities = np.asarray(model(mnist.test_images[:200, :, :, None].astype("float32")))
    assert probabilities.shape == (200, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    # Two epochs on 1,350 images already read most digits.
    assert (probabilities.argmax(axis=1) == mnist.test_labels[:200]).mean() > 0.6


def test_same_seed_same_weights(subset):
    from train.fit import train_and_evaluate

    def weights(seed: int) -> list[np.ndarray]:
        result = train_and_evaluate(
            subset, epochs=1, seed=seed, batch_size=64, learning_rate=1e-3, validation_size=100, verbose=0
        )
        return result.model.get_weights()

    first, second, other = weights(3), weights(3), weights(4)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_augmentation_is_seeded_and_keeps_range(subset):
    images = tf.constant(subset.train_images[:32, :, :, None], tf.float32)
    first = augment_batch(images, tf.constant([1, 2], tf.int64)).numpy()
    second = augment_batch(images, tf.constant([1, 2], tf.int64)).numpy()
    other = augment_batch(images, tf.constant([1, 3], tf.int64)).numpy()
    assert first.shape == images.shape
    assert first.min() >= 0 and first.max() <= 255
    np.testing.assert_array_equal(first, second)
    assert np.abs(first - other).mean() > 1.0


def test_no_augmentation_is_the_identity(subset):
    still = AugmentConfig(
        rotation_degrees=0, shear_degrees=0, scale_low=1, scale_high=1, aspect_jitter=0, shift_pixels=0,
        thick_max=0, thin_max=0,
    )
    images = tf.constant(subset.train_images[:8, :, :, None], tf.float32)
    np.testing.assert_allclose(augment_batch(images, tf.constant([0, 0], tf.int64), still).numpy(), images, atol=1e-3)


def test_low_resolution_averages_down_and_enlarges_back_what_the_other_transforms_made(subset):
    """With low_resolution_probability 1 each image is the same batch's image without it (the other transforms
    draw the same: the step has seeds of its own), area-averaged to one side in [9, 14] and enlarged bilinearly."""
    images = tf.constant(subset.train_images[:32, :, :, None], tf.float32)
    seed = tf.constant([5, 6], tf.int64)
    sharp = augment_batch(images, seed).numpy()
    low = augment_batch(images, seed, AugmentConfig(low_resolution_probability=1.0)).numpy()
    matches = [side for side in range(9, 15) if np.allclose(
        low, tf.clip_by_value(tf.image.resize(tf.image.resize(sharp, [side, side], method="area"), [28, 28]),
                              0.0, 255.0).numpy(), atol=1e-3)]
    assert len(matches) == 1, matches
    # It loses detail: neighbouring pixels differ less, and the ink is kept (averaging moves it, adds none).
    def roughness(batch):
        return np.abs(np.diff(batch, axis=1)).sum() + np.abs(np.diff(batch, axis=2)).sum()
    assert roughness(low) < 0.8 * roughness(sharp)
    assert low.sum() == pytest.approx(sharp.sum(), rel=0.05)


def test_low_resolution_applies_to_its_share_of_images(subset):
    images = tf.constant(subset.train_images[:200, :, :, None], tf.float32)
    seed = tf.constant([7, 8], tf.int64)
    sharp = augment_batch(images, seed).numpy()
    some = augment_batch(images, seed, AugmentConfig(low_resolution_probability=0.25)).numpy()
    changed = int(np.sum(np.abs(some - sharp).reshape(len(sharp), -1).max(axis=1) > 1e-3))
    assert 25 <= changed <= 75  # a quarter of 200 is 50; a binomial's 4.1 standard deviations either side
    np.testing.assert_array_equal(some, augment_batch(images, seed, AugmentConfig(low_resolution_probability=0.25)))


def test_thickness_augmentation_changes_ink_amount(subset):
    images = tf.constant(subset.train_images[:64, :, :, None], tf.float32)
    thicker = AugmentConfig(
        rotation_degrees=0, shear_degrees=0, scale_low=1, scale_high=1, aspect_jitter=0, shift_pixels=0,
        thick_max=1.0, thin_max=-0.5, thickness_probability=1.0,
    )
    augmented = augment_batch(images, tf.constant([0, 1], tf.int64), thicker).numpy()
    assert augmented.sum() > images.numpy().sum() * 1.2
