"""The one list of networks: discovery, the served networks of this process, the not-a-digit gate.

The networks are the folders of the artifacts (``webapp/artifacts.py``'s
``discover``): nothing else lists them. Pages that only need a network's card
(its title, accuracy, size) ask ``network_names()`` and ``network_card()``,
which read the folders and never wait for LiteRT; endpoints that run a
network ask ``get_registry()`` / ``get_network()``. The registry is loaded
once per process, after gunicorn's fork, by a background thread, so
``/healthz`` and ``/readyz`` answer while it loads.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app

from webapp.artifacts import ARTIFACTS, CARD_FILE, DEFAULT_MODEL, discover, read_card
from webapp.gate import Gate, load_gate
from webapp.model import Network
from webapp.process_local import per_process

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MODEL", "Gate", "ModelHolder", "ModelNotReady", "Registry", "UnknownModel", "discover",
    "get_holder", "get_network", "get_registry", "network_card", "network_cards", "network_names", "ordered",
]


class ModelNotReady(RuntimeError):
    """The networks are still loading (or failed to load)."""


class UnknownModel(LookupError):
    """No served network has this name."""


def ordered(names: list[str], default: str) -> list[str]:
    """The default first, then the others by name (the order of /api/models and every page)."""
    return [default, *sorted(name for name in names if name != default)] if default in names else sorted(names)


def network_names() -> list[str]:
    """The current app's served networks, the default first; from the folders, without loading any."""
    config = current_app.config
    return ordered(discover(Path(config["ARTIFACTS_DIR"])), config["DEFAULT_MODEL"])


def network_cards() -> dict[str, dict]:
    """Every served network's card, by name, the default first (each read again when its file changes)."""
    artifacts = Path(current_app.config["ARTIFACTS_DIR"])
    return {name: _card(artifacts / name, (artifacts / name / CARD_FILE).stat().st_mtime_ns) for name in network_names()}


def network_card(name: str) -> dict:
    """The card of the current app's network ``name`` (read again when its file changes).

    Raises:
        UnknownModel: no served network has this name.
    """
    try:
        return network_cards()[name]
    except KeyError:
        raise UnknownModel(name) from None


@lru_cache(maxsize=32)
def _card(folder: Path, modified: int) -> dict:
    return read_card(folder)


class Registry:
    """Every served network of this process, by name, and the not-a-digit gate in front of them all."""

    def __init__(self, networks: dict[str, Network], default: str, gate: Gate | None = None):
        if default not in networks:
            raise UnknownModel(f"the default network {default!r} is not among {sorted(networks)}")
        self.networks = networks
        self.default = default
        self.gate = gate  # None: every drawing goes to the network alone
        from webapp.checkpoints import Checkpoints

        self.checkpoints = Checkpoints(networks)  # each network at points of its training, loaded on first use

    @classmethod
    def load(cls, artifacts: Path = ARTIFACTS, default: str = DEFAULT_MODEL, pool_size: int = 1) -> Registry:
        """Load every network ``discover`` finds in ``artifacts``, and the gate beside them."""
        names = discover(artifacts)
        if not names:
            raise FileNotFoundError(f"no exported network in {artifacts}; run python -m train.export")
        # Every reading runs the default network: it alone reads from its one-output file (Network.load).
        networks = {name: Network.load(artifacts / name, pool_size, own_reading=name == default) for name in names}
        return cls(networks, default, load_gate(artifacts, pool_size))

    @property
    def names(self) -> list[str]:
        """The default first, then the others by name."""
        return ordered(list(self.networks), self.default)

    def get(self, name: str | None = None, checkpoint: str | None = None) -> Network:
        """The network called ``name`` (default: the default network), at ``checkpoint`` (default: "final").

        Raises:
            UnknownModel: no served network has this name.
            webapp.checkpoints.UnknownCheckpoint: the network has no checkpoint of this name.
        """
        if (name or self.default) not in self.networks:
            raise UnknownModel(name)
        return self.checkpoints.get(name or self.default, checkpoint)

    def warm_up(self) -> None:
        for network in self.networks.values():
            network.warm_up()
        if self.gate is not None:
            self.gate.network.warm_up()


class ModelHolder:
    """Loads the registry once per process, in the background, and hands it out when ready."""

    def __init__(self, artifacts: Path, default: str, pool_size: int):
        self.artifacts = artifacts
        self.default = default
        self.pool_size = pool_size
        self.pid = os.getpid()
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._started = False
        self.registry: Registry | None = None
        self.error: str | None = None
        self.load_seconds: float | None = None

    def start(self) -> None:
        """Start loading in a daemon thread; safe to call more than once."""
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._load, name="model-loader", daemon=True).start()

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            registry = Registry.load(self.artifacts, self.default, self.pool_size)
            registry.warm_up()
            self.registry = registry
            self.load_seconds = time.perf_counter() - started
            log.info(
                "networks %s loaded and warmed up in %.3f s (pid %d)",
                ", ".join(registry.names), self.load_seconds, self.pid,
            )
        except Exception as error:  # noqa: BLE001 - reported by /readyz, never raised into a request
            self.error = f"{type(error).__name__}: {error}"
            log.exception("loading the networks from %s failed", self.artifacts)
        finally:
            self._ready.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self.registry is not None

    def get(self, timeout: float) -> Registry:
        """The loaded registry, waiting up to ``timeout`` seconds for it."""
        self.start()
        self._ready.wait(timeout)
        if self.registry is None:
            raise ModelNotReady(self.error or "the networks are still loading")
        return self.registry


def get_holder(app: Flask | None = None) -> ModelHolder:
    """This process's holder for ``app`` (default: the current app)."""
    app = app or current_app._get_current_object()
    return per_process(
        app,
        "digit_lens_model",
        lambda: ModelHolder(
            Path(app.config["ARTIFACTS_DIR"]), str(app.config["DEFAULT_MODEL"]), int(app.config["INTERPRETERS"])
        ),
    )


def get_registry() -> Registry:
    """The loaded networks for the current app, waiting for them to finish loading."""
    return get_holder().get(timeout=float(current_app.config["MODEL_WAIT_SECONDS"]))


def get_network(name: str | None = None) -> Network:
    """The network called ``name`` (default: the default one) for the current app.

    Raises:
        ModelNotReady: the networks have not loaded (yet).
        UnknownModel: no served network has this name.
    """
    return get_registry().get(name)
