"""Reading 0-255 maps (guidance maps, class-agnostic labels) as [0, 1] probabilities of their image's size."""

from __future__ import annotations

import os

import numpy as np

from wsss_core.io import read_gray, read_sized


def read_guidance(path: str | os.PathLike, shape: tuple[int, ...]) -> np.ndarray:
    """Read a 0-255 PNG (saliency, objectness, class-agnostic mask) as float32 in [0,1] of (H, W) ``shape``."""
    return read_sized(path, shape, read_gray).astype(np.float32) / 255.0
