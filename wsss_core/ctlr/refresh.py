"""How a stage's online refresh of G_ca (Eq. 4) predicts Pr_ca, read from the config (no torch: the DAG imports it)."""

from __future__ import annotations

from typing import Any, Mapping


def refresh_prediction(mode: str, inference: Mapping[str, Any]) -> dict[str, Any]:
    """The scales and flip of the refresh's Pr_ca: ``single`` scale, or ``ms``, the ``inference`` section's."""
    if mode == "ms":
        return {"scales": list(inference["scales"]), "flip": bool(inference["flip"])}
    return {"scales": [1.0], "flip": False}
