"""Rule export_voc_test: predictions in the layout of the PASCAL VOC evaluation server."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from wsss_core.data.dataset import load_index
from wsss_core.io import InputError, atomic_directory, read_label_map, write_label_map

log = logging.getLogger(__name__)


def export_voc_segmentation(dataset_root: str | Path, split: str, label_dir: str | Path, output_dir: str | Path) -> None:
    """Copy the label map of every image of ``split`` to ``output_dir/<id>.png`` (VOC palette).

    ``output_dir`` is meant to be ``.../VOC2012/Segmentation/comp6_test_cls``,
    the directory the server expects inside its upload archive; every map is
    checked to hold only classes 0..C.
    """
    index = load_index(dataset_root)
    ids = index.ids(split)
    label_dir = Path(label_dir)
    with atomic_directory(output_dir) as tmp:
        for image_id in ids:
            labels = read_label_map(label_dir / f"{image_id}.png")
            if labels.max() > index.num_classes:
                raise InputError(f"{label_dir / (image_id + '.png')}: label {labels.max()} is not a class")
            write_label_map(tmp / f"{image_id}.png", labels.astype(np.uint8))
    log.info("exported %d %s label maps to %s", len(ids), split, output_dir)
