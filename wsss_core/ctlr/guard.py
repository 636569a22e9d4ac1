"""Rule ctlr_change: how much CTLR (Eq. 5-7) changed the pseudo labels, read without ground truth.

A user on their own photos has no masks to score G_seg^ref against, yet the
refinement can make labels worse: when Br_s(Pr_seg) of an under-trained
semantic branch drags G_ca^ref (Eq. 5) below the saliency map's foreground,
the lost object pixels become background in G_seg^ref. This table shows it
from the label maps alone, overall and per class (over the images that carry
the class): the share of pixels whose label changed (G_seg^init -> G_seg^ref),
the coverage before and after, and the foreground share of Pt_sal, of the
online G_ca of the joint model and of G_ca^ref. A ratio G_ca^ref / Pt_sal
outside ``fg_ratio_bounds`` is logged as a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from wsss_core.data.dataset import DatasetIndex, load_index
from wsss_core.evaluate.tables import write_table
from wsss_core.io import IGNORE_LABEL, read_gray, read_label_map, read_sized
from wsss_core.parallel import map_images

log = logging.getLogger(__name__)

# pixel counts of one image, in this order
COUNTS = ("pixels", "changed", "labelled_before", "labelled_after", "fg_saliency", "fg_online_ca", "fg_refined_ca")


@dataclass(frozen=True)
class _CountTask:
    initial_dir: Path
    refined_dir: Path
    guidance_dir: Path
    online_ca_dir: Path
    refined_ca_dir: Path
    fg_threshold: float

    def __call__(self, image_id: str) -> np.ndarray:
        initial = read_label_map(self.initial_dir / f"{image_id}.png")
        refined = read_sized(self.refined_dir / f"{image_id}.png", initial.shape, read_label_map, "initial label")
        foreground = [
            read_sized(directory / f"{image_id}.png", initial.shape, read_gray, "initial label") / 255.0 > self.fg_threshold
            for directory in (self.guidance_dir, self.online_ca_dir, self.refined_ca_dir)
        ]
        return np.array(
            [
                initial.size,
                np.count_nonzero(initial != refined),
                np.count_nonzero(initial != IGNORE_LABEL),
                np.count_nonzero(refined != IGNORE_LABEL),
                *(np.count_nonzero(mask) for mask in foreground),
            ],
            dtype=np.int64,
        )


def _row(name: str, images: int, counts: np.ndarray) -> dict[str, object]:
    total = dict(zip(COUNTS, counts.tolist()))
    share = lambda key: 100.0 * total[key] / max(total["pixels"], 1)  # noqa: E731
    return {
        "labels": name,
        "images": images,
        "changed_pct": share("changed"),
        "coverage_before": share("labelled_before"),
        "coverage_after": share("labelled_after"),
        "fg_saliency": share("fg_saliency"),
        "fg_online_ca": share("fg_online_ca"),
        "fg_refined_ca": share("fg_refined_ca"),
        "refined_over_saliency": total["fg_refined_ca"] / max(total["fg_saliency"], 1),
        "refined_over_online": total["fg_refined_ca"] / max(total["fg_online_ca"], 1),
    }


def change_table(index: DatasetIndex, ids: tuple[str, ...], per_image: np.ndarray) -> pd.DataFrame:
    """The ``all`` row and one row per class (over the images labelled with it) of the counts ``per_image``."""
    rows = [_row("all", len(ids), per_image.sum(axis=0))]
    for class_index, name in enumerate(index.class_names, start=1):
        carries = np.array([class_index in index.present_classes(image_id) for image_id in ids], dtype=bool)
        if carries.any():
            rows.append(_row(name, int(carries.sum()), per_image[carries].sum(axis=0)))
    return pd.DataFrame(rows)


def ctlr_change(
    dataset_root: str | Path,
    split: str,
    label_dirs: dict[str, str | Path],
    output_csv: str | Path,
    *,
    fg_threshold: float,
    fg_ratio_bounds: tuple[float, float],
    workers: int,
) -> pd.DataFrame:
    """Write the change table of CTLR on ``split``; warn about each row whose foreground ratio leaves the bounds.

    ``label_dirs`` names the directories ``initial`` (G_seg^init), ``refined``
    (G_seg^ref), ``guidance`` (Pt_sal), ``online_ca`` (the joint model's G_ca)
    and ``refined_ca`` (G_ca^ref); the 0-255 maps are foreground where
    ``value / 255 > fg_threshold``, as in the class-agnostic label table.
    """
    index = load_index(dataset_root)
    ids = index.ids(split)
    task = _CountTask(*(Path(label_dirs[key]) for key in ("initial", "refined", "guidance", "online_ca", "refined_ca")), fg_threshold)
    per_image = np.stack(map_images(task, ids, workers=workers, total=len(ids), desc="CTLR change"))
    table = change_table(index, ids, per_image)
    write_table(table, output_csv)
    low, high = fg_ratio_bounds
    for row in table.itertuples():
        if not low <= row.refined_over_saliency <= high:
            log.warning(
                "CTLR %s the foreground of %s: G_ca^ref covers %.1f %% of the pixels, the saliency map %.1f %% "
                "(ratio %.2f, outside %.2f..%.2f); the refined labels may be worse than the initial ones "
                "(see metrics/ctlr_change.csv and the manual's 'When CTLR makes labels worse', docs/troubleshooting.md)",
                "shrank" if row.refined_over_saliency < low else "grew",
                "all images" if row.labels == "all" else f"the {row.images} image{'s' * (row.images != 1)} of {row.labels}",
                row.fg_refined_ca,
                row.fg_saliency,
                row.refined_over_saliency,
                low,
                high,
            )
    return table
