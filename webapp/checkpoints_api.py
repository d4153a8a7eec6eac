"""GET /api/checkpoints: one network's checkpoints with each one's MNIST test confusion matrix (the record page's)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from webapp.api import loaded_registry
from webapp.errors import ApiError

bp = Blueprint("checkpoints", __name__)


@bp.get("/api/checkpoints")
def checkpoints_() -> Response:
    """List a network's checkpoints with their accuracy and confusion matrix on MNIST's test digits."""
    registry = loaded_registry()
    name = request.args.get("model") or registry.default
    if name not in registry.networks:
        raise ApiError(
            404, "unknown-model", f"there is no model named {name!r}; choose one of {', '.join(registry.names)}"
        )
    manifest = registry.checkpoints.manifests.get(name) or {"checkpoints": [], "test_images": 0}
    keys = ("name", "step", "epoch", "accuracy", "confusion")
    response = jsonify(
        model=name,
        test_images=manifest.get("test_images", 0),
        checkpoints=[{key: entry[key] for key in keys if key in entry} for entry in manifest["checkpoints"]],
    )
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response
