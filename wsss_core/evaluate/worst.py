"""The report's "worst images": where two pseudo labels disagree most, and where the final one scores lowest.

For CTLR the pair is the initial label G_seg^init and the refined G_seg^ref
(Sec. 3.4.2); for SONet the CAM baseline C_m and the objectness-guided label.
With ground truth, each image's pseudo-label mIoU (Sec. 4.1.2) ranks the failures.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

from wsss_core.data.dataset import load_index
from wsss_core.evaluate.grids import Panel, draw_grid
from wsss_core.evaluate.metrics import confusion_matrix, scores
from wsss_core.io import atomic_path, read_label_map, read_sized


def rank_images(
    dataset_root: str | os.PathLike, split: str, first_dir: str | os.PathLike, second_dir: str | os.PathLike
) -> pd.DataFrame:
    """Per image of ``split``: the share of pixels whose labels differ between the two directories
    (``disagreement``, ignore counts as a label) and, when every image has ground truth, the mIoU
    of each label (``miou_first``, ``miou_second``, %). Sorted by disagreement, largest first.
    """
    index = load_index(dataset_root)
    ids = index.ids(split)
    with_gt = all(index.has_mask(image_id) for image_id in ids)
    rows = []
    for image_id in tqdm(ids, desc="rank images", unit="img", mininterval=2.0):
        first = read_label_map(Path(first_dir) / f"{image_id}.png")
        second = read_sized(Path(second_dir) / f"{image_id}.png", first.shape, read_label_map, "the first label")
        row: dict[str, object] = {"image_id": image_id, "disagreement": float(np.mean(first != second))}
        if with_gt:
            truth = read_sized(index.mask_path(image_id), first.shape, read_label_map, "the pseudo label")
            for name, labels in (("first", first), ("second", second)):
                row[f"miou_{name}"] = 100 * scores(confusion_matrix(labels, truth, index.num_classes + 1))["miou"]
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["disagreement", "image_id"], ascending=[False, True], ignore_index=True)


def worst_images(
    dataset_root: str | os.PathLike,
    split: str,
    panels: Sequence[Panel],
    output_csv: str | os.PathLike,
    disagreement_png: str | os.PathLike,
    lowest_iou_png: str | os.PathLike | None,
    *,
    count: int,
    cams_path: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Rank with :func:`rank_images` (the first two ``labels`` panels are the pair), write the ranking
    to ``output_csv`` and the ``count`` worst images as grids: by disagreement, and by the lowest
    mIoU of the second label when ground truth exists (``lowest_iou_png``, else None).
    """
    pair = [panel for panel in panels if panel.kind == "labels"][:2]
    ranking = rank_images(dataset_root, split, pair[0].source, pair[1].source)
    with atomic_path(output_csv) as tmp:
        ranking.to_csv(tmp, index=False, float_format="%.4f")
    top = ranking.head(count)
    notes = [f"differ {100 * value:.0f} %" for value in top["disagreement"]]
    draw_grid(dataset_root, list(top["image_id"]), panels, disagreement_png, cams_path=cams_path, row_notes=notes,
              title=f"largest disagreement: {pair[0].title} vs {pair[1].title}")
    if lowest_iou_png is not None:
        if "miou_second" not in ranking:
            raise ValueError(f"{dataset_root}: lowest-IoU page asked for, but the split {split!r} lacks ground truth")
        low = ranking.sort_values(["miou_second", "image_id"], ignore_index=True).head(count)
        notes = [f"mIoU {value:.0f} %" for value in low["miou_second"]]
        draw_grid(dataset_root, list(low["image_id"]), panels, lowest_iou_png, cams_path=cams_path, row_notes=notes,
                  title=f"lowest pseudo-label mIoU: {pair[1].title}")
    return ranking
