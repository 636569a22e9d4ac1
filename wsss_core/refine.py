"""Class-agnostic pseudo labels and cross-task label refinement (Sec. 3.4, Eq. 4-7)."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from wsss_core.crf import CrfParams, crf_foreground
from wsss_core.data.dataset import load_index
from wsss_core.io import atomic_directory, read_rgb, write_gray, write_label_map
from wsss_core.labels import fuse_initial_labels
from wsss_core.parallel import map_images
from wsss_core.sharding import ALL_IMAGES, Shard
from wsss_core.store import read_store

log = logging.getLogger(__name__)

# G_ca^ref is binary, so any threshold inside (0, 1) selects exactly its foreground.
_BINARY_FG_THRESHOLD = 0.5


def class_agnostic_labels(image: np.ndarray, ca_prob: np.ndarray, prior: np.ndarray, crf: CrfParams) -> np.ndarray:
    """Eq. 4 / Eq. 5: CRF_d((Pr_ca + prior) / 2), a (H,W) uint8 0/1 mask.

    ``prior`` is the saliency map Pt_sal (Eq. 4, online class-agnostic labels
    G_ca) or the binarised segmentation Br_s(Pr_seg) (Eq. 5, G_ca^ref).
    """
    return crf_foreground(image, (ca_prob + prior) / 2.0, crf)


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


def _refine_one(
    item: tuple[str, Path, np.ndarray, np.ndarray, np.ndarray, tuple[int, ...]],
    ca_dir: Path,
    seg_dir: Path,
    crf: CrfParams,
    pcam_fg_threshold: float,
) -> None:
    image_id, image_path, seg_probs, ca_prob, pcam_maps, classes = item
    ca_refined, seg_refined = refine_image_labels(
        read_rgb(image_path), seg_probs, ca_prob, pcam_maps, classes, crf=crf, pcam_fg_threshold=pcam_fg_threshold
    )
    write_gray(ca_dir / f"{image_id}.png", ca_refined * np.uint8(255))
    write_label_map(seg_dir / f"{image_id}.png", seg_refined)


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

    ``predictions`` is the store written by :func:`wsss_core.infer.predict_split`
    for the jointly trained model; ``prediction_variant`` picks its
    single-scale (``single``) or multi-scale + flip (``ms``) probabilities.
    """
    index = load_index(dataset_root)
    ids = shard.select(index.ids(split))
    seg_key, ca_key = f"seg_{prediction_variant}", f"ca_{prediction_variant}"
    log.info("cross-task label refinement of %d %s images from %s", len(ids), split, predictions)
    with (
        read_store(predictions) as predicted,
        read_store(cam_store) as cams,
        atomic_directory(output_ca_dir) as ca_dir,
        atomic_directory(output_seg_dir) as seg_dir,
    ):

        def items() -> Iterator[tuple[str, Path, np.ndarray, np.ndarray, np.ndarray, tuple[int, ...]]]:
            for image_id in ids:
                probs = predicted.read(image_id, seg_key, ca_key)
                pcam = cams.read(image_id, "pcam")
                classes = tuple(int(c) for c in pcam["classes"])
                yield image_id, index.image_path(image_id), probs[seg_key], probs[ca_key], pcam["pcam"], classes

        refine = functools.partial(
            _refine_one, ca_dir=ca_dir, seg_dir=seg_dir, crf=crf, pcam_fg_threshold=pcam_fg_threshold
        )
        map_images(refine, items(), workers=workers, total=len(ids), desc=f"CTLR {shard.name}")
