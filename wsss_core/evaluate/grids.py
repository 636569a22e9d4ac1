"""Figure grids of the report: one row per image, one column per map (image, GT, guidance, CAMs, labels).

A column is a :class:`Panel`: what to draw and where it is read from. The same
grid draws the training-image figure (CTLR Fig. 8 and 10: saliency, sCAM / pCAM
of the top class, initial label, online G_ca, G_ca^ref, G_seg^ref; SONet Fig. 3:
objectness, C_m, G^Cm, B, G^B_ign), the evaluation figure (prediction plain /
+MS / +CRF / +MS+CRF) and the worst-images page.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from wsss_core.data.dataset import DatasetIndex, load_index
from wsss_core.evaluate.figures import class_legend, colorize, hide_axes, new_figure, save_figure
from wsss_core.io import read_gray, read_label_map, read_rgb
from wsss_core.store import StoreReader, read_store

# what a panel draws: the RGB image, the ground truth, a palette label map, a 0/255 class-agnostic
# map, a 0-255 guidance map (saliency / objectness), or the top class's sCAM / pCAM from cams.h5
PANEL_KINDS = ("image", "gt", "labels", "binary", "heat", "scam", "pcam")


@dataclass(frozen=True)
class Panel:
    """One column of a grid: its title, its kind (one of :data:`PANEL_KINDS`) and its label / map directory."""

    title: str
    kind: str
    source: str | os.PathLike | None = None

    def __post_init__(self) -> None:
        if self.kind not in PANEL_KINDS:
            raise ValueError(f"panel {self.title!r}: kind {self.kind!r} is not one of {PANEL_KINDS}")


def sample_ids(ids: Sequence[str], count: int, seed: int) -> list[str]:
    """``count`` ids drawn without replacement with ``seed`` (all of them when fewer), in their list order."""
    if count >= len(ids):
        return list(ids)
    chosen = np.random.default_rng(seed).choice(len(ids), size=count, replace=False)
    return [ids[i] for i in sorted(chosen)]


def top_class(cams: StoreReader, image_id: str) -> tuple[int, int]:
    """(1-based class, channel) of the present class with the largest mean pCAM (Eq. 3) in ``image_id``."""
    entry = cams.read(image_id, "pcam")
    channel = int(np.argmax(entry["pcam"].reshape(len(entry["classes"]), -1).mean(axis=1)))
    return int(entry["classes"][channel]), channel


def _heat(ax, image: np.ndarray, values: np.ndarray) -> None:
    ax.imshow(image.mean(axis=2), cmap="gray", vmin=0, vmax=255)
    ax.imshow(values, cmap="jet", vmin=0.0, vmax=1.0, alpha=0.55)


def _draw_panel(ax, panel: Panel, image_id: str, image: np.ndarray, index: DatasetIndex, cams, labels_seen: set) -> str:
    """Draw one cell; returns a suffix for the column title (the CAM's class), or ''."""
    if panel.kind == "image":
        ax.imshow(image)
        return ""
    if panel.kind in ("scam", "pcam"):
        cls, channel = top_class(cams, image_id)
        _heat(ax, image, cams.read(image_id, panel.kind)[panel.kind][channel])
        return index.class_names[cls - 1]
    path = index.mask_path(image_id) if panel.kind == "gt" else Path(panel.source) / f"{image_id}.png"
    if panel.kind == "heat":
        _heat(ax, image, read_gray(path).astype(np.float32) / 255.0)
    elif panel.kind == "binary":
        ax.imshow(read_gray(path), cmap="gray", vmin=0, vmax=255)
    else:
        labels = read_label_map(path)
        labels_seen.update(int(v) for v in np.unique(labels))
        ax.imshow(colorize(labels), interpolation="nearest")
    return ""


def draw_grid(
    dataset_root: str | os.PathLike,
    ids: Sequence[str],
    panels: Sequence[Panel],
    output_png: str | os.PathLike,
    *,
    cams_path: str | os.PathLike | None = None,
    row_notes: Sequence[str] | None = None,
    title: str = "",
) -> list[str]:
    """Draw ``panels`` (columns) for ``ids`` (rows) with the VOC palette and a class legend; returns the titles drawn.

    A ``gt`` column is left out when any of ``ids`` has no ground-truth mask.
    """
    index = load_index(dataset_root)
    if not all(index.has_mask(image_id) for image_id in ids):
        panels = [panel for panel in panels if panel.kind != "gt"]
    size = 1.9
    figure = new_figure(size * len(panels), size * len(ids) + 0.9)
    axes = np.atleast_2d(figure.subplots(len(ids), len(panels), squeeze=False))
    labels_seen: set[int] = set()
    needs_cams = any(panel.kind in ("scam", "pcam") for panel in panels)
    with read_store(cams_path) if needs_cams else contextlib.nullcontext() as cams:
        for row, image_id in enumerate(ids):
            image = read_rgb(index.image_path(image_id))
            for col, panel in enumerate(panels):
                suffix = _draw_panel(axes[row, col], panel, image_id, image, index, cams, labels_seen)
                if row == 0 or suffix:
                    axes[row, col].set_title(f"{panel.title} ({suffix})" if suffix else panel.title, fontsize=8)
            note = f"\n{row_notes[row]}" if row_notes else ""
            axes[row, 0].set_ylabel(f"{image_id}{note}", fontsize=8)
    hide_axes(axes)
    if title:
        figure.suptitle(title, fontsize=10)
    class_legend(figure, index.class_names, sorted(labels_seen))
    figure.subplots_adjust(bottom=0.9 / (size * len(ids) + 0.9))
    save_figure(figure, output_png)
    return [panel.title for panel in panels]



def sample_grid(
    dataset_root: str | os.PathLike,
    split: str,
    panels: Sequence[Panel],
    output_png: str | os.PathLike,
    *,
    count: int,
    seed: int,
    cams_path: str | os.PathLike | None = None,
    title: str = "",
) -> list[str]:
    """:func:`draw_grid` of ``count`` images of ``split`` drawn with ``seed`` (:func:`sample_ids`); returns the ids.

    The title says how many of the split's images are shown, and the seed.
    """
    all_ids = load_index(dataset_root).ids(split)
    ids = sample_ids(all_ids, count, seed)
    title = f"{title}: {len(ids)} of {len(all_ids)} {split} images (seed {seed})"
    draw_grid(dataset_root, ids, panels, output_png, cams_path=cams_path, title=title)
    return ids
