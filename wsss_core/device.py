"""Pick the compute device and thread count for a stage."""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)


def pick_device(threads: int | None = None) -> torch.device:
    """CUDA when present, CPU otherwise; ``threads`` bounds torch's intra-op CPU threads."""
    if threads:
        torch.set_num_threads(max(1, int(threads)))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    log.info("device: %s (torch %s, %d CPU threads)", device, torch.__version__, torch.get_num_threads())
    return device
