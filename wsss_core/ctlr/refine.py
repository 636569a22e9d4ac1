"""Cross-task label refinement, CTLR (Sec. 3.4.2, Eq. 5-7): G_ca^ref and G_seg^ref; rule refine_ctlr."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from wsss_core.crf import CrfParams
from wsss_core.ctlr.ca_labels import class_agnostic_labels, write_ca_label
from wsss_core.ctlr.initial_labels import fuse_initial_labels
from wsss_core.data.dataset import DatasetIndex
from wsss_core.io import read_rgb, write_label_map
from wsss_core.parallel import per_image_stage
from wsss_core.sharding import ALL_IMAGES, Shard
from wsss_core.store import LazyStore

# G_ca^ref is binary, so any threshold inside (0, 1) selects exactly its foreground.
_BINARY_FG_THRESHOLD = 0.5


def suppress_by_image_labels(seg_probs: np.ndarray, present_classes: Sequence[int]) -> np.ndarray:
    """Supp(.) of Eq. 6: multiply Pr_seg (C+1,H,W) by the image labels along the class axis.

    Channel 0 (background) is always kept; object channels of classes absent
    from the image are zeroed.
    """
    keep = np.zeros(seg_probs.shape[0], dtype=seg_probs.dtype)
    keep[0] = 1
    keep[np.asarray(present_classes, dtype=np.int64)] = 1
    return seg_probs * keep[:, None, None]


def binarize_segmentation(seg_probs: np.ndarray, present_classes: Sequence[int]) -> np.ndarray:
    """Br_s of Eq. 6-7: argmax of the suppressed Pr_seg, then 1 where it is an object class."""
    return (suppress_by_image_labels(seg_probs, present_classes).argmax(axis=0) > 0).astype(np.uint8)


def refine_image_labels(
    image: np.ndarray,
    seg_probs: np.ndarray,
    ca_prob: np.ndarray,
    pcam_maps: np.ndarray,
    present_classes: Sequence[int],
    *,
    crf: CrfParams,
    pcam_fg_threshold: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Cross-task label refinement of one image: returns (G_ca^ref, G_seg^ref).

    G_ca^ref = CRF_d((Pr_ca + Br_s(Pr_seg)) / 2) (Eq. 5-7); G_seg^ref fuses
    the pCAM maps of the present classes with G_ca^ref by the rule of the
    initial labels (Sec. 3.4.2).
    """
    ca_refined = class_agnostic_labels(image, ca_prob, binarize_segmentation(seg_probs, present_classes), crf)
    seg_refined = fuse_initial_labels(
        pcam_maps,
        present_classes,
        ca_refined.astype(np.float32),
        cam_fg_threshold=pcam_fg_threshold,
        fg_threshold=_BINARY_FG_THRESHOLD,
    )
    return ca_refined, seg_refined


class _RefineTask:
    """CTLR of one image id: reads its image, predictions and pCAMs, writes G_ca^ref and G_seg^ref."""

    def __init__(
        self,
        index: DatasetIndex,
        stores: tuple[LazyStore, LazyStore],
        variant: str,
        output_dirs: tuple[Path, Path],
        **settings: object,
    ) -> None:
        self.index = index
        self.predictions, self.cams = stores
        self.ca_dir, self.seg_dir = output_dirs
        self.seg_key, self.ca_key = f"seg_{variant}", f"ca_{variant}"
        self.settings = settings

    def __call__(self, image_id: str) -> None:
        probs = self.predictions.read(image_id, self.seg_key, self.ca_key)
        pcam = self.cams.read(image_id, "pcam")
        classes = tuple(int(c) for c in pcam["classes"])
        image = read_rgb(self.index.image_path(image_id))
        ca_refined, seg_refined = refine_image_labels(
            image, probs[self.seg_key], probs[self.ca_key], pcam["pcam"], classes, **self.settings
        )
        write_ca_label(self.ca_dir / f"{image_id}.png", ca_refined)
        write_label_map(self.seg_dir / f"{image_id}.png", seg_refined)


def refine_ctlr(
    dataset_root: str | Path,
    split: str,
    predictions: str | Path,
    cam_store: str | Path,
    output_ca_dir: str | Path,
    output_seg_dir: str | Path,
    *,
    crf: CrfParams,
    pcam_fg_threshold: float,
    prediction_variant: str = "ms",
    workers: int = 1,
    shard: Shard = ALL_IMAGES,
) -> None:
    """Write G_ca^ref (0/255 PNGs) and G_seg^ref (label PNGs) for every image of ``split`` in ``shard``.

    ``predictions`` is the store written by :func:`wsss_core.inference.predict.predict_split`
    for the jointly trained model; ``prediction_variant`` picks its
    single-scale (``single``) or multi-scale + flip (``ms``) probabilities.
    """
    stores = (LazyStore(predictions), LazyStore(cam_store))

    def make_task(index: DatasetIndex, ca_dir: Path, seg_dir: Path) -> _RefineTask:
        return _RefineTask(
            index, stores, prediction_variant, (ca_dir, seg_dir), crf=crf, pcam_fg_threshold=pcam_fg_threshold
        )

    per_image_stage(
        dataset_root, split, shard, [output_ca_dir, output_seg_dir], make_task, workers=workers, desc="CTLR"
    )
