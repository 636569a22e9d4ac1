"""Initial pseudo semantic labels G_seg^init from CAMs and a foreground map (Sec. 3.4.1).

The same fusion produces the sCAM- and pCAM-based initial labels (Table 6)
and, with the refined class-agnostic mask in place of saliency, the refined
labels G_seg^ref of CTLR (Sec. 3.4.2).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from wsss_core.data.dataset import load_index
from wsss_core.io import IGNORE_LABEL, InputError, atomic_directory, read_gray, write_label_map
from wsss_core.parallel import map_images
from wsss_core.sharding import ALL_IMAGES, Shard
from wsss_core.store import read_store

log = logging.getLogger(__name__)

CAM_KINDS = ("pcam", "scam", "cam")


def fuse_initial_labels(
    cam_maps: np.ndarray,
    present_classes: Sequence[int],
    foreground: np.ndarray,
    *,
    cam_fg_threshold: float,
    fg_threshold: float,
) -> np.ndarray:
    """Threshold-based fusion of class maps and a class-agnostic foreground map.

    ``cam_maps`` (K,H,W) holds the normalised CAM (pCAM or sCAM) of the K
    present classes ``present_classes`` (1-based); ``foreground`` (H,W) in
    [0,1] is the saliency map Pt_sal (or G_ca^ref for CTLR).

    * object region of the CAMs: max over present classes > ``cam_fg_threshold``;
    * object region of the foreground map: ``foreground > fg_threshold``;
    * pixels in both get the present class of largest CAM value;
    * pixels in exactly one (conflicts) get ``IGNORE_LABEL`` (255);
    * all remaining pixels are background (0).
    """
    if cam_maps.shape[0] != len(present_classes):
        raise ValueError(f"{cam_maps.shape[0]} CAM channels for {len(present_classes)} present classes")
    if cam_maps.shape[1:] != foreground.shape:
        raise ValueError(f"CAM size {cam_maps.shape[1:]} differs from foreground size {foreground.shape}")
    labels = np.zeros(foreground.shape, dtype=np.uint8)
    if len(present_classes) == 0:
        cam_fg = np.zeros(foreground.shape, dtype=bool)
    else:
        cam_fg = cam_maps.max(axis=0) > cam_fg_threshold
    map_fg = foreground > fg_threshold
    both = cam_fg & map_fg
    classes = np.asarray(present_classes, dtype=np.uint8)
    if both.any():
        labels[both] = classes[cam_maps[:, both].argmax(axis=0)]
    labels[cam_fg ^ map_fg] = IGNORE_LABEL
    return labels


def read_foreground(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """Read a foreground PNG (saliency or class-agnostic mask, 0-255) as [0,1] floats of ``shape``."""
    values = read_gray(path)
    if values.shape != shape:
        raise InputError(f"{path}: map is {values.shape[1]}x{values.shape[0]}, its image is {shape[1]}x{shape[0]}")
    return values.astype(np.float32) / 255.0


def _fuse_one(
    item: tuple[str, np.ndarray, tuple[int, ...], Path],
    output_dir: Path,
    cam_fg_threshold: float,
    fg_threshold: float,
) -> None:
    image_id, cam_maps, classes, foreground_path = item
    foreground = read_foreground(foreground_path, cam_maps.shape[1:])
    labels = fuse_initial_labels(
        cam_maps, classes, foreground, cam_fg_threshold=cam_fg_threshold, fg_threshold=fg_threshold
    )
    write_label_map(output_dir / f"{image_id}.png", labels)


def fuse_label_maps(
    dataset_root: str | Path,
    split: str,
    cam_store: str | Path,
    cam_kind: str,
    foreground_dir: str | Path,
    output_dir: str | Path,
    *,
    cam_fg_threshold: float,
    fg_threshold: float,
    workers: int = 1,
    shard: Shard = ALL_IMAGES,
) -> None:
    """Write the fused label PNG of every image of ``split`` in ``shard`` into ``output_dir`` (atomically).

    ``cam_kind`` picks the maps read from ``cam_store`` (``pcam`` or ``scam``);
    ``foreground_dir`` holds one 0-255 PNG per image id.
    """
    if cam_kind not in CAM_KINDS:
        raise ValueError(f"cam_kind must be one of {CAM_KINDS}, got {cam_kind!r}")
    index = load_index(dataset_root)
    ids = shard.select(index.ids(split))
    foreground_dir = Path(foreground_dir)
    log.info("fusing %s with %s for %d %s images", cam_kind, foreground_dir, len(ids), split)

    with read_store(cam_store) as store, atomic_directory(output_dir) as tmp_dir:

        def items() -> Iterator[tuple[str, np.ndarray, tuple[int, ...], Path]]:
            for image_id in ids:
                record = store.read(image_id, cam_kind)
                yield image_id, record[cam_kind], tuple(int(c) for c in record["classes"]), foreground_dir / f"{image_id}.png"

        fuse = functools.partial(
            _fuse_one, output_dir=tmp_dir, cam_fg_threshold=cam_fg_threshold, fg_threshold=fg_threshold
        )
        map_images(fuse, items(), workers=workers, total=len(ids), desc=f"fuse {cam_kind} {shard.name}")
