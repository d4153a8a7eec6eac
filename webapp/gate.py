"""The not-a-digit gate: one small network in front of every served network.

Each served network is a 10-class MNIST model and always picks one of its ten
digits, for a dash or a letter as readily as for a 7. The gate (trained by
``python -m train.gate``, exported like the networks into
``webapp/artifacts/_gate/``) looks at the same 28x28 image and gives the
probability that it is not a digit at all; above the threshold stored in its
card, the answer is ``reason: "not-a-digit"``, whichever network was asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from webapp.artifacts import CARD_FILE, GATE_FOLDER
from webapp.model import Network

__all__ = ["GATE_FOLDER", "Gate", "load_gate"]


@dataclass
class Gate:
    """The exported gate network and its threshold on P(not a digit)."""

    network: Network
    threshold: float

    @classmethod
    def load(cls, folder: Path, pool_size: int = 1) -> Gate:
        network = Network.load(folder, pool_size)
        return cls(network=network, threshold=float(network.card["threshold"]))

    def not_a_digit(self, image: np.ndarray) -> float:
        """P(not a digit) for one uint8 28x28 MNIST-format image (the gate's last output)."""
        return float(self.network.predict(image)[-1])

    def rejects(self, probability: float) -> bool:
        return probability > self.threshold


def load_gate(artifacts: Path, pool_size: int = 1) -> Gate | None:
    """The gate in ``artifacts/_gate``, or None when that folder holds none (a test's own artifacts)."""
    folder = Path(artifacts) / GATE_FOLDER
    return Gate.load(folder, pool_size) if (folder / CARD_FILE).is_file() else None
