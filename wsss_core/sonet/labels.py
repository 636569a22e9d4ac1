"""Pseudo labels guided by objectness (SONet paper, Sec. 2.1, Eq. 2-3).

Label maps are uint8: 0 = background, 1..C = classes, 255 = ignore. The
objectness map O is a float (H,W) map in [0,1] (stored as 0-255 PNGs, like
saliency). Eq. 2 and Eq. 3 write the condition "O_ij > 0" for a binary O; the
paper does not say how its objectness scores are binarised, so here O is
binarised as ``O > objectness_threshold`` (0.5 by default).

* Class-driven labels (Eq. 2, :func:`cam_objectness_labels`): a pixel gets the
  present class of largest CAM value where O is on and that value exceeds
  delta, else background. The "non-thresholded CAM proposals" C_m are the
  max-normalised CAMs (sCAM = ReLU(CAM) / max, in [0,1]) of the present
  classes, so delta = 0.01 is a threshold on that scale.
* Box-driven labels (Eq. 3, :func:`box_labels`): boxes are filled with their
  class, smaller boxes in front; with the ignore strategy a box that overlaps
  the largest box by more than alpha keeps its class only in its inner part
  (``inner_fraction`` of its area) and its outer ring is ignored (255); the
  result is masked with O (background where O is off). SDI's ignore region
  (Khoreva et al. 2017, Box^i; Table 5b) instead keeps only the inner part of
  every box (``sdi_inner_fraction`` of its area, 20 % in SDI) and ignores the rest.

:func:`make_sonet_labels` writes one label PNG per image of a split for the
pseudo labels of Table 1(a): the baselines C_m (``cam``) and B (``box``),
G^Cm (``cam_objectness``), G^B (``box_objectness``) and G^B_ign
(``box_objectness_ignore``); and G^B_SDI (``box_objectness_sdi``) of Table 5(b).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

from wsss_core.data.dataset import Box, DatasetIndex, load_index, read_boxes
from wsss_core.guidance.maps import read_guidance
from wsss_core.io import IGNORE_LABEL, InputError, read_image_size, write_label_map
from wsss_core.parallel import per_image_stage
from wsss_core.sharding import ALL_IMAGES
from wsss_core.store import LazyStore

KINDS = ("cam", "cam_objectness", "box", "box_objectness", "box_objectness_ignore", "box_objectness_sdi")
OBJECTNESS_KINDS = ("cam_objectness", "box_objectness", "box_objectness_ignore", "box_objectness_sdi")
CAM_NORMALISATION = "scam"  # the store array used as C_m


def _objectness_mask(objectness: np.ndarray, shape: tuple[int, ...], threshold: float) -> np.ndarray:
    objectness = np.asarray(objectness)
    if objectness.shape != shape:
        raise ValueError(f"objectness size {objectness.shape} differs from label size {shape}")
    return objectness > threshold


def cam_objectness_labels(
    cam_maps: np.ndarray,
    present_classes: Sequence[int],
    objectness: np.ndarray | None,
    *,
    delta: float = 0.01,
    objectness_threshold: float = 0.5,
) -> np.ndarray:
    """Eq. 2: class-driven pseudo label G^Cm (H,W) uint8.

    ``cam_maps`` (K,H,W) holds the max-normalised CAMs of the K present
    classes ``present_classes`` (1-based). A pixel gets the present class of
    largest CAM value where ``objectness > objectness_threshold`` and that
    largest value is ``> delta``; every other pixel is background (0).

    With ``objectness=None`` the O condition is dropped: the CAM-only
    baseline C_m of Table 1(a) (thresholded at ``delta``).
    """
    cam_maps = np.asarray(cam_maps)
    if cam_maps.ndim != 3:
        raise ValueError(f"cam_maps must be (K,H,W), got shape {cam_maps.shape}")
    if cam_maps.shape[0] != len(present_classes):
        raise ValueError(f"{cam_maps.shape[0]} CAM channels for {len(present_classes)} present classes")
    classes = np.asarray(present_classes, dtype=np.int64)
    if np.any((classes < 1) | (classes >= IGNORE_LABEL)):
        raise ValueError(f"present classes must be in 1..{IGNORE_LABEL - 1}, got {list(present_classes)}")
    shape = cam_maps.shape[1:]
    labels = np.zeros(shape, dtype=np.uint8)
    if len(classes) == 0:
        return labels
    keep = cam_maps.max(axis=0) > delta
    if objectness is not None:
        keep &= _objectness_mask(objectness, shape, objectness_threshold)
    if keep.any():
        labels[keep] = classes.astype(np.uint8)[cam_maps[:, keep].argmax(axis=0)]
    return labels


def _area(box: Sequence[int]) -> int:
    _, x0, y0, x1, y1 = box
    return max(0, x1 - x0) * max(0, y1 - y0)


def _intersection(a: Sequence[int], b: Sequence[int]) -> int:
    width = min(a[3], b[3]) - max(a[1], b[1])
    height = min(a[4], b[4]) - max(a[2], b[2])
    return max(0, width) * max(0, height)


def inner_box(x0: int, y0: int, x1: int, y1: int, fraction: float) -> tuple[int, int, int, int]:
    """The box of the same centre and aspect ratio with ``fraction`` of the area, in whole pixels.

    Width and height are scaled by sqrt(fraction) and rounded (at least one
    pixel), so the inner area is within about one pixel row / column of
    ``fraction`` times the box area; an odd leftover puts the extra pixel
    on the right / bottom side.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"inner fraction must be in (0, 1], got {fraction}")
    width, height = x1 - x0, y1 - y0
    scale = math.sqrt(fraction)
    inner_width = min(width, max(1, round(width * scale)))
    inner_height = min(height, max(1, round(height * scale)))
    left = x0 + (width - inner_width) // 2
    top = y0 + (height - inner_height) // 2
    return left, top, left + inner_width, top + inner_height


def box_labels(
    boxes: Sequence[Sequence[int]],
    shape: tuple[int, int],
    objectness: np.ndarray | None,
    *,
    ignore: bool,
    objectness_threshold: float = 0.5,
    alpha: float = 0.3,
    inner_fraction: float = 0.6,
    sdi_inner_fraction: float | None = None,
) -> np.ndarray:
    """Eq. 3: box-driven pseudo label (H,W) uint8 of ``shape`` (H, W).

    ``boxes`` are (class, x0, y0, x1, y1), x1 / y1 exclusive; they are
    clipped to the image. Boxes are painted from the largest area to the
    smallest (ties in the given order), so a smaller box is in front where
    boxes overlap. B_0 is the largest box (the first of equal largest ones).

    * ``ignore=False``: every box is filled with its class (G^B).
    * ``ignore=True`` (G^B_ign): for every other box B_k, the overlap
      |B_0 ∩ B_k| / |B_k| is the intersection area normalised by the area of
      B_k, the smaller box (the paper leaves the normalisation open). If it
      is ``> alpha``, only the inner box of B_k (:func:`inner_box`,
      ``inner_fraction`` of its area) gets the class and the outer ring
      becomes 255; otherwise (including overlap == alpha) the whole box gets
      the class. B_0 itself is always filled whole.
    * ``sdi_inner_fraction`` (with ``ignore=False``; G^B_SDI): SDI's ignore
      region: every box, B_0 included, keeps its class in its inner box of
      that share of its area and is ignored (255) around it.

    Pixels outside every box are background (0). With an ``objectness`` map
    (H,W) in [0,1], every pixel where ``objectness > objectness_threshold``
    is false becomes 0, ring pixels included ("otherwise 0" in Eq. 3).
    ``objectness=None`` skips the masking (with ``ignore=False``: the plain
    box baseline B).
    """
    if ignore and sdi_inner_fraction is not None:
        raise ValueError("choose one ignore strategy: the paper's (ignore) or SDI's (sdi_inner_fraction)")
    height, width = shape
    labels = np.zeros((height, width), dtype=np.uint8)
    clipped: list[Box] = []
    for box in boxes:
        cls, x0, y0, x1, y1 = (int(value) for value in box)
        if not 1 <= cls < IGNORE_LABEL:
            raise ValueError(f"box class must be in 1..{IGNORE_LABEL - 1}, got {cls}")
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f"empty box {tuple(box)} (x1 / y1 are exclusive)")
        clipped.append((cls, max(0, x0), max(0, y0), min(width, x1), min(height, y1)))
    order = sorted(range(len(clipped)), key=lambda i: -_area(clipped[i]))
    for rank, i in enumerate(order):
        box = clipped[i]
        cls, x0, y0, x1, y1 = box
        if _area(box) == 0:
            continue
        ring = sdi_inner_fraction  # SDI: every box; the paper's strategy: a box overlapping B_0 by more than alpha
        if ignore and rank > 0 and _intersection(clipped[order[0]], box) / _area(box) > alpha:
            ring = inner_fraction
        if ring is not None:
            labels[y0:y1, x0:x1] = IGNORE_LABEL
            ix0, iy0, ix1, iy1 = inner_box(x0, y0, x1, y1, ring)
            labels[iy0:iy1, ix0:ix1] = cls
        else:
            labels[y0:y1, x0:x1] = cls
    if objectness is not None:
        labels[~_objectness_mask(objectness, labels.shape, objectness_threshold)] = 0
    return labels


def _objectness(objectness_dir: Path | None, image_id: str, shape: tuple[int, ...]) -> np.ndarray | None:
    return None if objectness_dir is None else read_guidance(objectness_dir / f"{image_id}.png", shape)


class _CamTask:
    """A CAM-driven label (C_m or G^Cm, Eq. 2) of one image id from the CAM store and the objectness maps."""

    def __init__(self, cams: LazyStore, objectness_dir: Path | None, output_dir: Path, **settings: float) -> None:
        self.cams, self.objectness_dir, self.output_dir, self.settings = cams, objectness_dir, output_dir, settings

    def __call__(self, image_id: str) -> None:
        record = self.cams.read(image_id, CAM_NORMALISATION)
        cam_maps = record[CAM_NORMALISATION]
        classes = tuple(int(c) for c in np.atleast_1d(record["classes"]))
        objectness = _objectness(self.objectness_dir, image_id, cam_maps.shape[1:])
        write_label_map(self.output_dir / f"{image_id}.png", cam_objectness_labels(cam_maps, classes, objectness, **self.settings))


class _BoxTask:
    """A box-driven label (B, G^B or G^B_ign, Eq. 3) of one image id from its boxes and the objectness maps."""

    def __init__(
        self,
        index: DatasetIndex,
        boxes: tuple[Path, dict[str, list[Box]]],
        objectness_dir: Path | None,
        output_dir: Path,
        **settings: object,
    ) -> None:
        self.index, (self.boxes_csv, self.boxes) = index, boxes
        self.objectness_dir, self.output_dir, self.settings = objectness_dir, output_dir, settings

    def __call__(self, image_id: str) -> None:
        shape = read_image_size(self.index.image_path(image_id))
        boxes = self.boxes.get(image_id, [])
        for _, x0, y0, _, _ in boxes:
            if x0 >= shape[1] or y0 >= shape[0]:
                raise InputError(
                    f"{self.boxes_csv}: a box of image {image_id!r} starts at ({x0}, {y0}), "
                    f"outside its {shape[1]}x{shape[0]} image"
                )
        objectness = _objectness(self.objectness_dir, image_id, shape)
        write_label_map(self.output_dir / f"{image_id}.png", box_labels(boxes, shape, objectness, **self.settings))


def _box_table(dataset_root: str | Path, boxes_csv: str | Path | None, split: str) -> tuple[Path, dict[str, list[Box]]]:
    """The boxes of the dataset; every image of ``split`` with an image-level label must have one."""
    index = load_index(dataset_root)
    path = Path(dataset_root) / "boxes.csv" if boxes_csv is None else Path(boxes_csv)
    boxes = read_boxes(path, index.num_classes)
    for image_id in index.ids(split):
        if image_id not in boxes and index.present_classes(image_id):
            raise InputError(
                f"{path}: no box for image {image_id!r} (split {split!r}), which has image-level labels: a box-driven "
                f"label needs its boxes (VOC: Annotations/{image_id}.xml)"
            )
    return path, boxes


def make_sonet_labels(
    dataset_root: str | Path,
    split: str,
    output_dir: str | Path,
    *,
    kind: str,
    cam_store: str | Path | None = None,
    objectness_dir: str | Path | None = None,
    boxes_csv: str | Path | None = None,
    delta: float = 0.01,
    cam_threshold: float = 0.3,
    objectness_threshold: float = 0.5,
    alpha: float = 0.3,
    inner_fraction: float = 0.6,
    sdi_inner_fraction: float = 0.2,
    workers: int = 1,
) -> None:
    """Write the ``kind`` pseudo label of every image of ``split`` into ``output_dir`` (atomically).

    ``kind``:

    * ``cam``: the CAM-only baseline C_m. The paper "simply thresholds the raw
      CAMs" without giving the value; here the sCAMs of the present classes
      are thresholded at ``cam_threshold`` (not ``delta``), no objectness.
    * ``cam_objectness``: G^Cm, Eq. 2 with ``delta`` on the sCAMs.
    * ``box``: the box baseline B (filled boxes, smaller in front).
    * ``box_objectness``: G^B, Eq. 3 without the ignore strategy.
    * ``box_objectness_ignore``: G^B_ign, Eq. 3 with the ignore strategy.
    * ``box_objectness_sdi``: G^B_SDI, G^B with SDI's ignore region (``sdi_inner_fraction``).

    ``cam_store`` is the CAM store (its ``scam`` arrays are used) for the CAM
    kinds; ``objectness_dir`` holds one 0-255 objectness PNG per image id for
    the objectness kinds, binarised as O > ``objectness_threshold``;
    ``boxes_csv`` (default ``<dataset_root>/boxes.csv``) the boxes for the box
    kinds. An image of the split without any box is an error unless it has no
    image-level label (it is then all background). Boxes are clipped to
    their image; one that starts outside it is an error.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind in OBJECTNESS_KINDS and objectness_dir is None:
        raise ValueError(f"kind {kind!r} needs objectness_dir")
    if kind.startswith("cam") and cam_store is None:
        raise ValueError(f"kind {kind!r} needs cam_store")
    objectness = Path(objectness_dir) if kind in OBJECTNESS_KINDS else None
    if kind.startswith("cam"):
        cams = LazyStore(cam_store)
        threshold = cam_threshold if kind == "cam" else delta

        def make_task(index: DatasetIndex, out: Path) -> _CamTask:
            return _CamTask(cams, objectness, out, delta=threshold, objectness_threshold=objectness_threshold)

    else:
        boxes = _box_table(dataset_root, boxes_csv, split)
        settings = dict(ignore=kind == "box_objectness_ignore", objectness_threshold=objectness_threshold)
        settings.update(alpha=alpha, inner_fraction=inner_fraction)
        settings.update(sdi_inner_fraction=sdi_inner_fraction if kind == "box_objectness_sdi" else None)

        def make_task(index: DatasetIndex, out: Path) -> _BoxTask:
            return _BoxTask(index, boxes, objectness, out, **settings)

    per_image_stage(dataset_root, split, ALL_IMAGES, [output_dir], make_task, workers=workers, desc=f"sonet {kind}")
