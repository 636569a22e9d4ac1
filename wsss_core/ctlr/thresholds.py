"""Rule cam_thresholds: sCAM and pCAM initial labels (Sec. 3.4.1) over a sweep of fusion thresholds (Table 6).

sCAM is max-normalised per class (Eq. 2) and pCAM a softmax over the classes
(Eq. 3), so one threshold does not suit both: at pCAM's 0.8 sCAM keeps only
each object's peak. This stage fuses both CAMs with the guidance map at every
threshold of the sweep, scores each fusion against the ground truth and splits
its ignored pixels by the map that claims them, so that each normalisation can
be compared at its own best threshold (``pseudo_labels.csv`` carries those
rows). Nothing is written per image: the fusions are scored in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from wsss_core.ctlr.initial_labels import fuse_initial_labels
from wsss_core.data.dataset import DatasetIndex, load_index
from wsss_core.evaluate.metrics import confusion_matrix
from wsss_core.evaluate.tables import read_ground_truth, summary_row, write_table
from wsss_core.guidance.maps import read_guidance
from wsss_core.io import IGNORE_LABEL
from wsss_core.parallel import WorkerPool
from wsss_core.store import LazyStore

SWEPT_CAMS = {"scam": "sCAM", "pcam": "pCAM"}
# conflict counts per fusion: ignored pixels the guidance map alone calls object (and of them, object in
# the ground truth), ignored pixels the CAM alone calls object (and of them, object in the ground truth)
_CONFLICTS = 4


@dataclass(frozen=True)
class _SweepTask:
    """Confusions ``(cams, thresholds, N, N+1)`` and conflict counts ``(cams, thresholds, 4)`` of one image."""

    index: DatasetIndex
    cam_store: LazyStore
    guidance_dir: Path
    thresholds: tuple[float, ...]
    fg_threshold: float

    def __call__(self, image_id: str) -> tuple[np.ndarray, np.ndarray]:
        truth = read_ground_truth(self.index, image_id)
        record = self.cam_store.read(image_id, *SWEPT_CAMS)
        classes = tuple(int(c) for c in record["classes"])
        guidance = read_guidance(self.guidance_dir / f"{image_id}.png", truth.shape)
        num_labels = self.index.num_classes + 1
        confusions = np.zeros((len(SWEPT_CAMS), len(self.thresholds), num_labels, num_labels + 1), dtype=np.int64)
        conflicts = np.zeros((len(SWEPT_CAMS), len(self.thresholds), _CONFLICTS), dtype=np.int64)
        valid, salient = truth != IGNORE_LABEL, guidance > self.fg_threshold
        obj = valid & (truth > 0)
        for k, cam in enumerate(SWEPT_CAMS):
            for t, threshold in enumerate(self.thresholds):
                labels = fuse_initial_labels(
                    record[cam], classes, guidance, cam_fg_threshold=threshold, fg_threshold=self.fg_threshold
                )
                confusions[k, t] = confusion_matrix(labels, truth, num_labels)
                ignored = (labels == IGNORE_LABEL) & valid
                by_map, by_cam = ignored & salient, ignored & ~salient
                conflicts[k, t] = (by_map.sum(), (by_map & obj).sum(), by_cam.sum(), (by_cam & obj).sum())
        return confusions, conflicts


def sweep_table(
    index: DatasetIndex, thresholds: Sequence[float], confusions: np.ndarray, conflicts: np.ndarray
) -> pd.DataFrame:
    """One row per CAM and threshold: the scores of :func:`summary_row` and where the ignored pixels come from.

    ``ignored_map_only`` / ``ignored_cam_only``: ignored pixels that only the
    guidance map / only the CAM calls object, in % of the pixels the ground
    truth labels; ``*_gt_object``: the share of them that it calls object.
    """
    label_names = ("background", *index.class_names)
    rows = []
    for k, name in enumerate(SWEPT_CAMS.values()):
        for t, threshold in enumerate(thresholds):
            counted = max(int(confusions[k, t].sum()), 1)
            by_map, by_map_obj, by_cam, by_cam_obj = conflicts[k, t].tolist()
            row = summary_row(f"{name}-initial", confusions[k, t], label_names)
            del row["labels"]  # the CAM column names them
            rows.append({
                "CAM": name, "threshold": float(threshold), **row,
                "ignored_map_only": 100 * by_map / counted, "map_only_gt_object": 100 * by_map_obj / max(by_map, 1),
                "ignored_cam_only": 100 * by_cam / counted, "cam_only_gt_object": 100 * by_cam_obj / max(by_cam, 1),
            })  # fmt: skip
    return pd.DataFrame(rows)


def best_threshold_rows(sweep_csv: str | Path) -> pd.DataFrame:
    """The rows of highest mIoU of each CAM of a written :func:`sweep_table`, labelled ``<CAM>-initial (best threshold)``.

    On a tie the lower threshold wins; the rows keep the sweep's ``threshold``.
    """
    sweep = pd.read_csv(sweep_csv)
    best = sweep.sort_values(["mIoU", "threshold"], ascending=[False, True]).groupby("CAM", sort=False).head(1)
    best = best.set_index("CAM").loc[list(SWEPT_CAMS.values())].reset_index()
    return best.assign(labels=best["CAM"] + "-initial (best threshold)")


def sweep_cam_thresholds(
    dataset_root: str | Path,
    split: str,
    cam_store: str | Path,
    guidance_dir: str | Path,
    output_csv: str | Path | None,
    *,
    thresholds: Sequence[float],
    fg_threshold: float,
    workers: int = 1,
) -> pd.DataFrame:
    """Score the sCAM and pCAM initial labels of ``split`` at every fusion threshold; write the table (if named).

    ``cam_store`` holds both CAMs of every image (:func:`wsss_core.ctlr.cams.dump_cams`),
    ``guidance_dir`` the 0-255 guidance PNGs, thresholded at ``fg_threshold``.
    """
    index = load_index(dataset_root)
    ids = index.ids(split)
    task = _SweepTask(index, LazyStore(cam_store), Path(guidance_dir), tuple(thresholds), fg_threshold)
    confusions, conflicts = 0, 0
    with WorkerPool(task, min(workers, len(ids))) as pool:
        for image_confusions, image_conflicts in pool.imap(ids, total=len(ids), desc="CAM threshold sweep"):
            confusions, conflicts = confusions + image_confusions, conflicts + image_conflicts
    table = sweep_table(index, thresholds, confusions, conflicts)
    if output_csv is not None:
        write_table(table, output_csv)
    return table
