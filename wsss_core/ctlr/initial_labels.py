"""Initial pseudo semantic labels G_seg^init from CAMs and a guidance map (Sec. 3.4.1); rule fuse_initial_labels.

The same fusion produces the sCAM- and pCAM-based initial labels (Table 6)
and, with the refined class-agnostic mask in place of saliency, the refined
labels G_seg^ref of CTLR (Sec. 3.4.2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from wsss_core.data.dataset import DatasetIndex
from wsss_core.guidance.maps import read_guidance
from wsss_core.io import IGNORE_LABEL, write_label_map
from wsss_core.parallel import per_image_stage
from wsss_core.sharding import ALL_IMAGES, Shard
from wsss_core.store import LazyStore

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


class _FuseTask:
    """:func:`fuse_initial_labels` of one image id, reading its CAMs and guidance map, writing its label PNG."""

    def __init__(self, cam_store: LazyStore, cam_kind: str, guidance_dir: Path, output_dir: Path, **thresholds: float) -> None:
        self.cam_store, self.cam_kind, self.guidance_dir, self.output_dir = cam_store, cam_kind, guidance_dir, output_dir
        self.thresholds = thresholds

    def __call__(self, image_id: str) -> None:
        record = self.cam_store.read(image_id, self.cam_kind)
        cam_maps, classes = record[self.cam_kind], tuple(int(c) for c in record["classes"])
        guidance = read_guidance(self.guidance_dir / f"{image_id}.png", cam_maps.shape[1:])
        write_label_map(self.output_dir / f"{image_id}.png", fuse_initial_labels(cam_maps, classes, guidance, **self.thresholds))


def fuse_label_maps(
    dataset_root: str | Path,
    split: str,
    cam_store: str | Path,
    cam_kind: str,
    guidance_dir: str | Path,
    output_dir: str | Path,
    *,
    cam_fg_threshold: float,
    fg_threshold: float,
    workers: int = 1,
    shard: Shard = ALL_IMAGES,
) -> None:
    """Write the fused label PNG of every image of ``split`` in ``shard`` into ``output_dir`` (atomically).

    ``cam_kind`` picks the maps read from ``cam_store`` (``pcam`` or ``scam``);
    ``guidance_dir`` holds one 0-255 guidance PNG per image id.
    """
    if cam_kind not in CAM_KINDS:
        raise ValueError(f"cam_kind must be one of {CAM_KINDS}, got {cam_kind!r}")
    store = LazyStore(cam_store)

    def make_task(index: DatasetIndex, out: Path) -> _FuseTask:
        return _FuseTask(
            store, cam_kind, Path(guidance_dir), out, cam_fg_threshold=cam_fg_threshold, fg_threshold=fg_threshold
        )

    per_image_stage(dataset_root, split, shard, [output_dir], make_task, workers=workers, desc=f"fuse {cam_kind}")
