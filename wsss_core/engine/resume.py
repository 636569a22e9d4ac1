"""Resume state of a training stage: written after every epoch, read back when the stage is started again.

A state belongs to one run, identified by :func:`fingerprint` (the stage, its
settings and the identity of its input files); a state of another run is
ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Sequence

import torch

log = logging.getLogger(__name__)

# Bumped when the content of a resume state changes, so that older states are not read.
STATE_FORMAT = 2


def fingerprint(stage: str, settings: dict[str, Any], inputs: Sequence[str | Path]) -> str:
    """Identify a training run by its settings and the identity (path, mtime) of its input files."""
    stamps = []
    for path in inputs:
        path = Path(path)
        stamps.append([str(path), path.stat().st_mtime_ns if path.exists() else None])
    blob = json.dumps(
        {"stage": stage, "settings": settings, "inputs": stamps, "format": STATE_FORMAT}, sort_keys=True, default=str
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def resume_path(output_checkpoint: Path) -> Path:
    """Where the resume state of the stage writing ``output_checkpoint`` lives: ``<checkpoint>.resume``."""
    return output_checkpoint.with_name(output_checkpoint.name + ".resume")


def load_resume_state(path: Path, run_fingerprint: str, device: torch.device, stage: str) -> dict[str, Any] | None:
    """The resume state at ``path`` if it belongs to the run ``run_fingerprint``, else None."""
    if not path.exists():
        return None
    state = torch.load(path, map_location=device, weights_only=True)
    if state.get("fingerprint") != run_fingerprint:
        log.info("%s: ignoring %s (written for other inputs or settings)", stage, path)
        return None
    log.info("%s: resuming from %s after epoch %d", stage, path, int(state["epoch"]))
    return state
