"""Activations and weights -> compact, JSON-ready layers. Pure functions.

Encoding of a layer's values (documented in docs/api.md):
    values are stored channel by channel (channel-major), each channel as
    uint8 bytes q; the real value is  min[c] + q / 255 * (max[c] - min[c]).
    A (H, W, C) output becomes C planes of H*W bytes, row by row; a (units,)
    output is one plane of ``units`` bytes. ``data`` is the base64 of all
    planes one after another. A channel whose min equals max is constant.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np

from webapp.artifacts import SHOWN_SETTINGS
from webapp.model import LayerInfo

QUANTIZE_BLOCK = 16384  # values per block of quantize_channels' arithmetic (64 kB of float32)


def quantize_channels(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel uint8 quantization of a (..., C) array.

    Returns:
        (planes uint8 of shape (C, ...), minimum per channel, maximum per channel)
    """
    channels = values.shape[-1]
    rows = np.asarray(values, np.float32).reshape(-1, channels)  # one row per position, one column per channel
    low = rows.min(axis=0)
    high = rows.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    # (value - low) / span * 255, rounded, in the values' own layout, a block of rows at a time in one small
    # float32 buffer (it stays in the cache and on malloc's heap), turned channel-major as uint8, a quarter
    # of the bytes. A dense kernel's gradient (401,408 numbers on digit-lens) took
    # ~9 ms as six fresh arrays of its size and a float transpose; the bytes are the same.
    quantized = np.empty(rows.shape[::-1], np.uint8)  # channel-major
    block = max(1, QUANTIZE_BLOCK // channels)
    for start in range(0, rows.shape[0], block):
        scaled = np.subtract(rows[start:start + block], low, dtype=np.float32)
        np.divide(scaled, span, out=scaled)
        np.multiply(scaled, 255.0, out=scaled)
        np.round(scaled, out=scaled)
        quantized[:, start:start + block] = scaled.T
    return quantized.reshape((channels, *values.shape[:-1])), low, high


def dequantize_channels(data: bytes, shape: Sequence[int], low: Sequence[float], high: Sequence[float]) -> np.ndarray:
    """Invert ``encode_values``: bytes + per-channel range -> float array of ``shape`` (channels last)."""
    channels = shape[-1] if len(shape) > 1 else 1
    spatial = tuple(shape[:-1]) if len(shape) > 1 else tuple(shape)
    planes = np.frombuffer(data, dtype=np.uint8).astype(np.float32).reshape(channels, -1)
    low_array, high_array = np.asarray(low, np.float32), np.asarray(high, np.float32)
    values = low_array[:, None] + planes / 255.0 * (high_array - low_array)[:, None]
    values = values.reshape((channels, *spatial))
    return np.moveaxis(values, 0, -1) if len(shape) > 1 else values.reshape(spatial)


class Base64(str):
    """Base64 text: nothing in it needs escaping in JSON, so ``webapp.api.json_answer`` writes it as it is."""

    __slots__ = ()


def encode_values(values: np.ndarray) -> dict:
    """One layer's output as {encoding, min, max, data}; 1-D outputs count as one channel."""
    as_channels = values if values.ndim > 1 else values[:, None]
    planes, low, high = quantize_channels(as_channels)
    if values.ndim == 1:
        planes = planes.reshape(1, -1)
    return {
        "encoding": "uint8-per-channel",
        "min": [float(value) for value in low],
        "max": [float(value) for value in high],
        "data": Base64(base64.b64encode(planes.tobytes()).decode("ascii")),
    }


def layer_settings(info: LayerInfo) -> dict:
    """The settings of a layer the page explains (kernel size, stride, padding, ...), as exported."""
    return {key: info.settings[key] for key in SHOWN_SETTINGS if key in info.settings}


def encode_layers(infos: Sequence[LayerInfo], outputs: Sequence[np.ndarray]) -> list[dict]:
    """Every layer's output for one image, in model order, ready for JSON."""
    return [
        {
            "name": info.name,
            "kind": info.kind,
            "shape": list(output.shape),
            "parameters": info.parameters,
            "settings": layer_settings(info),
            # A conv or pooling layer's zeros around its input, [top, bottom, left, right], from layers.json.
            **({"padding": list(info.padding)} if info.padding is not None else {}),
            **encode_values(output),
        }
        for info, output in zip(infos, outputs, strict=True)
    ]


def encode_kernels(weights: dict[str, dict[str, np.ndarray]], kinds: dict[str, str]) -> list[dict]:
    """Convolution kernels as exact float32, little-endian, base64.

    ``kernel`` has Keras's layout (kh, kw, in_channels, filters), flattened in C
    order; ``bias`` has one value per filter.
    """
    entries = []
    for name, variables in weights.items():
        if kinds.get(name) != "Conv2D":
            continue
        kernel = variables["kernel"].astype("<f4")
        bias = variables.get("bias", np.zeros(kernel.shape[-1])).astype("<f4")
        entries.append(
            {
                "name": name,
                "kernel_shape": list(kernel.shape),
                "encoding": "float32-le",
                "kernel": base64.b64encode(kernel.tobytes()).decode("ascii"),
                "bias": [float(value) for value in bias],
                "min": float(kernel.min()),
                "max": float(kernel.max()),
            }
        )
    return entries
