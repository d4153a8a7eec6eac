"""Augmentation that makes MNIST look more like what people draw on a pad.

People draw thicker, thinner, smaller and more slanted than MNIST's writers,
with a mouse that wobbles. Each training image gets one random affine
transform (rotation, shear, per-axis scale, shift: one interpolation, so no
compounding blur) and a random change of stroke thickness. Digits also reach
the app small, blocky or scanned (a photo of a form, a digit a few pixels
tall enlarged): with ``low_resolution_probability`` an image is averaged down
to a few pixels a side and enlarged back smoothly, as such a digit looks after
the app's preprocessing. All randomness is stateless and keyed by (seed, batch
index), so a run is reproducible.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import tensorflow as tf


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random transforms; each is drawn uniformly in [-x, x] or [low, high]."""

    rotation_degrees: float = 12.0
    shear_degrees: float = 15.0
    scale_low: float = 0.85
    scale_high: float = 1.1
    aspect_jitter: float = 0.1
    shift_pixels: float = 2.0
    # Stroke thickness: a blend towards a 3x3 dilation (thicker, up to 1.0)
    # or erosion (thinner, down to -thin_max) of the image.
    thick_max: float = 1.0
    thin_max: float = 0.5
    thickness_probability: float = 0.6
    # Low resolution: the 28x28 image box-averaged to a side drawn from
    # [low_resolution_low, low_resolution_high] pixels (one side per batch),
    # then enlarged back bilinearly; 0 leaves every image at full resolution.
    low_resolution_probability: float = 0.0
    low_resolution_low: int = 9
    low_resolution_high: int = 14

    def as_dict(self) -> dict:
        return asdict(self)


def _affine_transforms(batch_size: tf.Tensor, seeds: tf.Tensor, config: AugmentConfig, size: int) -> tf.Tensor:
    """Per-image projective transforms (output pixel -> input pixel), shape (B, 8)."""

    def uniform(index: int, low: float, high: float) -> tf.Tensor:
        return tf.random.stateless_uniform([batch_size], seed=seeds[index], minval=low, maxval=high)

    rotation = uniform(0, -1.0, 1.0) * math.radians(config.rotation_degrees)
    shear = tf.tan(uniform(1, -1.0, 1.0) * math.radians(config.shear_degrees))
    scale = uniform(2, config.scale_low, config.scale_high)
    aspect = uniform(3, -config.aspect_jitter, config.aspect_jitter)
    scale_x, scale_y = scale * (1.0 + aspect), scale * (1.0 - aspect)
    shift_x = uniform(4, -config.shift_pixels, config.shift_pixels)
    shift_y = uniform(5, -config.shift_pixels, config.shift_pixels)

    # Forward map M = rotation @ shear @ scale, about the image centre.
    cos, sin = tf.cos(rotation), tf.sin(rotation)
    m00 = cos * scale_x
    m01 = (cos * shear - sin) * scale_y
    m10 = sin * scale_x
    m11 = (sin * shear + cos) * scale_y
    determinant = m00 * m11 - m01 * m10
    # The op wants the inverse: for each output pixel, where to sample the input.
    i00, i01 = m11 / determinant, -m01 / determinant
    i10, i11 = -m10 / determinant, m00 / determinant
    centre = (size - 1) / 2.0
    source_x, source_y = centre + shift_x, centre + shift_y
    offset_x = centre - (i00 * source_x + i01 * source_y)
    offset_y = centre - (i10 * source_x + i11 * source_y)
    zeros = tf.zeros_like(i00)
    return tf.stack([i00, i01, offset_x, i10, i11, offset_y, zeros, zeros], axis=1)


def _vary_thickness(images: tf.Tensor, seeds: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    """Blend each image towards its dilation (thicker) or erosion (thinner)."""
    batch_size = tf.shape(images)[0]
    amount = tf.random.stateless_uniform([batch_size], seed=seeds[6], minval=-config.thin_max, maxval=config.thick_max)
    applied = tf.random.stateless_uniform([batch_size], seed=seeds[7]) < config.thickness_probability
    amount = tf.where(applied, amount, 0.0)[:, None, None, None]
    dilated = tf.nn.max_pool2d(images, ksize=3, strides=1, padding="SAME")
    eroded = -tf.nn.max_pool2d(-images, ksize=3, strides=1, padding="SAME")
    thicker = tf.nn.relu(amount) * (dilated - images)
    thinner = tf.nn.relu(-amount) * (eroded - images)
    return images + thicker + thinner


def _lower_resolution(images: tf.Tensor, seed: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    """Some images averaged down to a few pixels a side and enlarged back: small or scanned digits."""
    # Seeds of their own, so that the other transforms draw what they drew before this one existed.
    seeds = tf.random.experimental.stateless_split(tf.random.experimental.stateless_fold_in(seed, 1), num=2)
    batch_size = tf.shape(images)[0]
    size = tf.shape(images)[1:3]
    side = tf.random.stateless_uniform(
        [], seed=seeds[0], minval=config.low_resolution_low, maxval=config.low_resolution_high + 1, dtype=tf.int32
    )
    small = tf.image.resize(images, tf.stack([side, side]), method="area")
    enlarged = tf.image.resize(small, size, method="bilinear")
    applied = tf.random.stateless_uniform([batch_size], seed=seeds[1]) < config.low_resolution_probability
    return tf.where(applied[:, None, None, None], enlarged, images)


def augment_batch(images: tf.Tensor, seed: tf.Tensor, config: AugmentConfig = AugmentConfig()) -> tf.Tensor:
    """Augment a batch of float32 images (B, 28, 28, 1) in [0, 255].

    Args:
        images: the batch.
        seed: int tensor of shape (2,), unique per batch for distinct draws.
        config: the ranges.

    Returns:
        The augmented batch, same shape and range.
    """
    seeds = tf.random.experimental.stateless_split(seed, num=8)
    size = images.shape[1] or tf.shape(images)[1]
    batch_size = tf.shape(images)[0]
    transforms = _affine_transforms(batch_size, seeds, config, size)
    images = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    images = _vary_thickness(images, seeds, config)
    if config.low_resolution_probability > 0:
        images = _lower_resolution(images, seed, config)
    return tf.clip_by_value(images, 0.0, 255.0)
