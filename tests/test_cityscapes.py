"""Cityscapes indexing: things-only masks, boxes from instance ids, labels, clear errors.

The Table 4 DAG runs in tests/test_shipped_configs.py (configs/cityscapes_sonet.yaml).
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from wsss_core.data.cityscapes import THINGS, index_cityscapes, instance_boxes, things_mask
from wsss_core.data.dataset import load_index, read_boxes
from wsss_core.io import IGNORE_LABEL, InputError, read_label_map

REPO = Path(__file__).resolve().parents[1]
H, W = 24, 32
ROAD, SKY, EGO, CAR, PERSON, BUS, TRAILER = 7, 23, 1, 26, 24, 28, 30


def _write_frame(root: Path, split: str, city: str, stem: str, seed: int) -> None:
    """One frame: road below, sky above, an ego-vehicle strip, two cars, a person, a car group."""
    rng = np.random.default_rng(seed)
    label_ids = np.full((H, W), SKY, dtype=np.uint8)
    label_ids[12:] = ROAD
    label_ids[-2:] = EGO
    instance_ids = label_ids.astype(np.uint16)
    for k, (label_id, (y0, x0, y1, x1)) in enumerate(
        [(CAR, (10, 2, 16, 10)), (CAR, (11, 12, 15, 20)), (PERSON, (4, 24, 18, 28))]
    ):
        label_ids[y0:y1, x0:x1] = label_id
        instance_ids[y0:y1, x0:x1] = label_id * 1000 + k
    label_ids[0:3, 0:4] = CAR  # a car group: class pixels, no instance
    instance_ids[0:3, 0:4] = CAR
    label_ids[0:2, 28:32] = TRAILER
    instance_ids[0:2, 28:32] = TRAILER * 1000
    image_dir = root / "leftImg8bit" / split / city
    gt_dir = root / "gtFine" / split / city
    image_dir.mkdir(parents=True, exist_ok=True)
    gt_dir.mkdir(parents=True, exist_ok=True)
    image = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    cv2.imwrite(str(image_dir / f"{stem}_leftImg8bit.png"), image)
    cv2.imwrite(str(gt_dir / f"{stem}_gtFine_labelIds.png"), label_ids)
    cv2.imwrite(str(gt_dir / f"{stem}_gtFine_instanceIds.png"), instance_ids)


@pytest.fixture()
def cityscapes_root(tmp_path: Path) -> Path:
    root = tmp_path / "cityscapes"
    _write_frame(root, "train", "aachen", "aachen_000001_000019", 0)
    _write_frame(root, "train", "bochum", "bochum_000000_000313", 1)
    _write_frame(root, "val", "frankfurt", "frankfurt_000000_000294", 2)
    return root


def test_masks_boxes_and_labels(cityscapes_root: Path, tmp_path: Path) -> None:
    index_cityscapes(cityscapes_root, tmp_path / "index", splits={"train": "train", "val": "val"})
    index = load_index(tmp_path / "index")
    assert index.class_names == tuple(name for name, _ in THINGS)
    assert index.ids("train") == ("aachen_000001_000019", "bochum_000000_000313")
    car, person = 3, 1
    assert index.present_classes("frankfurt_000000_000294") == (person, car)
    mask = read_label_map(index.mask_path("aachen_000001_000019"))
    assert mask[20, 5] == 0 and mask[5, 16] == 0  # road, sky: background
    assert (mask[-2:] == IGNORE_LABEL).all()  # ego vehicle: void
    assert (mask[0:2, 28:32] == IGNORE_LABEL).all()  # trailer: excluded from evaluation
    assert (mask[0:3, 0:4] == car).all()  # a car group keeps its class
    assert mask[12, 5] == car and mask[10, 25] == person
    boxes = read_boxes(tmp_path / "index" / "boxes.csv", index.num_classes)
    assert boxes["aachen_000001_000019"] == [(person, 24, 4, 28, 18), (car, 2, 10, 10, 16), (car, 12, 11, 20, 15)]


def test_lookup_of_every_label_id() -> None:
    mask = things_mask(np.arange(34, dtype=np.uint8)[None])
    assert mask[0, 24:34].tolist() == [1, 2, 3, 4, 5, 255, 255, 6, 7, 8]
    assert (mask[0, :7] == IGNORE_LABEL).all() and (mask[0, 7:24] == 0).all()
    assert instance_boxes(np.array([[26, 26001], [33000, 0]], dtype=np.uint16)) == [(3, 1, 0, 2, 1), (8, 0, 1, 1, 2)]


def test_errors_name_the_file(cityscapes_root: Path, tmp_path: Path) -> None:
    labels = cityscapes_root / "gtFine" / "val" / "frankfurt" / "frankfurt_000000_000294_gtFine_labelIds.png"
    cv2.imwrite(str(labels), np.zeros((H, W + 1), dtype=np.uint8))
    with pytest.raises(InputError, match=re.escape(str(labels))):
        index_cityscapes(cityscapes_root, tmp_path / "index", splits={"val": "val"})
    labels.unlink()
    with pytest.raises(InputError, match="label-id map not found"):
        index_cityscapes(cityscapes_root, tmp_path / "index", splits={"val": "val"})
    with pytest.raises(InputError, match="leftImg8bit/test"):
        index_cityscapes(cityscapes_root, tmp_path / "index", splits={"test": "test"})
    assert not (tmp_path / "index").exists()
