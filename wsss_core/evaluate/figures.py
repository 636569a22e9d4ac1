"""Drawing primitives of the report's figures: palette colours, heat maps, the class legend, atomic saving.

matplotlib runs headless (the Agg backend), so the figure rules need no display.
"""

from __future__ import annotations

import os
from typing import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from wsss_core.io import IGNORE_LABEL, atomic_path, voc_palette  # noqa: E402

PALETTE = np.asarray(voc_palette(), dtype=np.uint8).reshape(256, 3)


def colorize(labels: np.ndarray) -> np.ndarray:
    """``(H, W)`` class indices (255 = ignore) as an ``(H, W, 3)`` RGB image in the VOC palette."""
    return PALETTE[np.asarray(labels, dtype=np.uint8)]


def overlay(image: np.ndarray, labels: np.ndarray, opacity: float = 0.5) -> np.ndarray:
    """``image`` (H,W,3) uint8 with the palette colour of each object pixel of ``labels`` blended in at ``opacity``.

    Background (0) and ignored (255) pixels keep the image's colour.
    """
    blended = image.astype(np.float32)
    objects = (labels != 0) & (labels != IGNORE_LABEL)
    blended[objects] = (1 - opacity) * blended[objects] + opacity * colorize(labels)[objects]
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def class_legend(figure: Figure, class_names: Sequence[str], labels: Sequence[int]) -> None:
    """A legend under ``figure`` with the palette colour and name of every label in ``labels``.

    ``class_names`` are the object classes (index 1..C); 0 is background and 255 ignore.
    """
    names = {0: "background", IGNORE_LABEL: "ignore", **{i + 1: name for i, name in enumerate(class_names)}}
    handles = [Patch(facecolor=PALETTE[label] / 255.0, edgecolor="black", label=names[label]) for label in labels]
    if handles:
        figure.legend(handles=handles, loc="lower center", ncol=min(len(handles), 8), frameon=False, fontsize=8)


def save_figure(figure: Figure, path: str | os.PathLike) -> None:
    """Write ``figure`` as PNG to ``path`` atomically and release it."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)


def new_figure(width: float, height: float) -> Figure:
    """A matplotlib figure of ``width`` x ``height`` inches."""
    return plt.figure(figsize=(width, height))


def hide_axes(axes: np.ndarray) -> None:
    """Remove ticks and frames of every axis in ``axes`` (an image grid)."""
    for ax in np.ravel(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
