"""SONet pseudo labels: Eq. 2 (CAM + objectness) and Eq. 3 (boxes + objectness, ignore strategy)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from wsss_core.data.dataset import load_index, read_boxes
from wsss_core.data.synthetic import generate_dataset
from wsss_core.io import InputError, read_label_map, write_gray
from wsss_core.sonet.labels import box_labels, cam_objectness_labels, inner_box, make_sonet_labels
from wsss_core.store import read_store, write_store

# ---------------------------------------------------------------------------
# Eq. 2
# ---------------------------------------------------------------------------

CAM = np.array(
    [
        [[0.9, 0.005, 0.3], [0.2, 0.0, 0.6]],  # class 2
        [[0.1, 0.008, 0.7], [0.25, 0.02, 0.1]],  # class 5
    ],
    dtype=np.float32,
)


def test_eq2_without_objectness_is_argmax_of_present_classes_above_delta():
    labels = cam_objectness_labels(CAM, [2, 5], None, delta=0.01)
    np.testing.assert_array_equal(labels, [[2, 0, 5], [5, 5, 2]])
    assert labels.dtype == np.uint8


def test_eq2_objectness_keeps_only_object_pixels():
    objectness = np.array([[0.9, 0.9, 0.4], [0.51, 0.5, 1.0]], dtype=np.float32)
    labels = cam_objectness_labels(CAM, [2, 5], objectness, delta=0.01, objectness_threshold=0.5)
    # (0,1): CAM below delta; (0,2): O off; (1,1): O == threshold is off (strict)
    np.testing.assert_array_equal(labels, [[2, 0, 0], [5, 0, 2]])
    loose = cam_objectness_labels(CAM, [2, 5], objectness, delta=0.01, objectness_threshold=0.3)
    np.testing.assert_array_equal(loose, [[2, 0, 5], [5, 5, 2]])


def test_eq2_delta_is_strict_and_configurable():
    cam = np.array([[[0.01, 0.3, 0.31]]], dtype=np.float32)
    np.testing.assert_array_equal(cam_objectness_labels(cam, [4], None, delta=0.01), [[0, 4, 4]])
    np.testing.assert_array_equal(cam_objectness_labels(cam, [4], None, delta=0.3), [[0, 0, 4]])


def test_eq2_no_present_class_and_bad_shapes():
    np.testing.assert_array_equal(cam_objectness_labels(np.zeros((0, 2, 2)), [], np.ones((2, 2))), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="present classes"):
        cam_objectness_labels(CAM, [2], None)
    with pytest.raises(ValueError, match="objectness size"):
        cam_objectness_labels(CAM, [2, 5], np.ones((3, 3)))


# ---------------------------------------------------------------------------
# Eq. 3
# ---------------------------------------------------------------------------

SHAPE = (16, 30)
B0 = (1, 0, 0, 20, 16)  # area 320: the largest box
B1 = (2, 10, 2, 30, 12)  # area 200; |B0 ∩ B1| = 100 -> 0.5 of B1 > alpha: ignore strategy
B2 = (3, 18, 12, 28, 16)  # area 40; |B0 ∩ B2| = 8 -> 0.2 of B2 < alpha: whole box
BOXES = [B2, B1, B0]  # not in painting order on purpose


def test_inner_box_keeps_centre_aspect_and_sixty_percent_of_the_area():
    assert inner_box(10, 2, 30, 12, 0.6) == (12, 3, 27, 11)  # 15 x 8 = 120 = 0.6 * 200
    for width, height in [(10, 10), (7, 13), (1, 5), (33, 20), (100, 3), (2, 2)]:
        x0, y0, x1, y1 = inner_box(5, 7, 5 + width, 7 + height, 0.6)
        assert 5 <= x0 < x1 <= 5 + width and 7 <= y0 < y1 <= 7 + height
        assert abs((x1 - x0) * (y1 - y0) - 0.6 * width * height) <= max(width, height)
        assert abs((x0 - 5) - (5 + width - x1)) <= 1 and abs((y0 - 7) - (7 + height - y1)) <= 1


def test_eq3_ignore_strategy_front_order_ring_and_outside():
    labels = box_labels(BOXES, SHAPE, None, ignore=True, alpha=0.3, inner_fraction=0.6)
    # B1's inner box keeps class 2; its area is within one row / column of 0.6 of B1's area
    inner = labels == 2
    rows, cols = np.nonzero(inner)
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (3, 11, 12, 27)
    area = 20 * 10
    assert abs(inner.sum() - 0.6 * area) <= max(20, 10)
    assert inner.sum() == 120
    # B1's outer ring is 255, also where it lies over B0 (smaller box in front)
    assert (labels == 255).sum() == area - 120
    assert labels[2, 10] == 255 and labels[5, 11] == 255 and labels[11, 29] == 255
    # B2 overlaps B0 by less than alpha: whole box, in front of B0
    np.testing.assert_array_equal(labels[12:16, 18:28], 3)
    # B0 keeps the rest of its area (never ring'd)
    assert labels[0, 0] == 1 and labels[13, 17] == 1 and labels[1, 19] == 1
    # outside every box
    assert labels[0, 25] == 0 and labels[14, 29] == 0 and labels[1, 20] == 0
    # the order the boxes are given in does not matter
    np.testing.assert_array_equal(labels, box_labels(BOXES[::-1], SHAPE, None, ignore=True))


def test_eq3_without_ignore_fills_whole_boxes():
    labels = box_labels(BOXES, SHAPE, None, ignore=False)
    np.testing.assert_array_equal(labels[2:12, 10:30], 2)
    np.testing.assert_array_equal(labels[12:16, 18:28], 3)
    assert (labels == 255).sum() == 0
    assert (labels == 1).sum() == 320 - 100 - 8
    assert (labels == 0).sum() == 16 * 30 - 320 - 100 - 40 + 8


def test_eq3_objectness_masks_everything_even_the_ring():
    objectness = np.full(SHAPE, 0.9, dtype=np.float32)
    objectness[:, :11] = 0.2  # off: columns 0..10 (includes the ring column 10 of B1)
    objectness[13, 20] = 0.5  # exactly the threshold: off
    plain = box_labels(BOXES, SHAPE, None, ignore=True)
    labels = box_labels(BOXES, SHAPE, objectness, ignore=True, objectness_threshold=0.5)
    assert (labels[:, :11] == 0).all()
    assert labels[2, 10] == 0 and plain[2, 10] == 255
    assert labels[13, 20] == 0 and plain[13, 20] == 3
    on = objectness > 0.5
    np.testing.assert_array_equal(labels[on], plain[on])
    assert (labels == 255).sum() == 80 - 10  # the ring minus its 10 pixels in column 10


def test_eq3_overlap_equal_to_alpha_keeps_the_whole_box():
    big, other = (1, 0, 0, 10, 10), (4, 7, 0, 17, 10)  # |B0 ∩ Bk| / |Bk| = 30 / 100 = alpha
    labels = box_labels([big, other], (10, 17), None, ignore=True, alpha=0.3)
    np.testing.assert_array_equal(labels[:, 7:17], 4)
    np.testing.assert_array_equal(labels[:, :7], 1)
    ignored = box_labels([big, other], (10, 17), None, ignore=True, alpha=0.29)
    assert (ignored == 255).sum() == 100 - 8 * 8  # inner box 8 x 8 (round(10 * sqrt(0.6)) = 8)


def test_eq3_boxes_are_clipped_to_the_image_and_empty_boxes_rejected():
    labels = box_labels([(2, -3, 5, 4, 40)], (10, 8), None, ignore=False)
    assert (labels == 2).sum() == 4 * 5 and (labels[5:, :4] == 2).all()
    with pytest.raises(ValueError, match="empty box"):
        box_labels([(1, 3, 3, 3, 5)], (10, 10), None, ignore=False)


# ---------------------------------------------------------------------------
# make_sonet_labels on the generated dataset
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sonet") / "dataset"
    generate_dataset(root, num_train=4, num_val=2, image_size=64, seed=0, num_classes=6, num_source=0)
    return root


@pytest.fixture(scope="module")
def objectness_dir(dataset: Path) -> Path:
    """Synthetic objectness: the ground-truth object pixels, shrunk by a column, as 0 / 230 PNGs."""
    index = load_index(dataset)
    out = dataset.parent / "objectness"
    for image_id in index.ids("train"):
        mask = read_label_map(index.mask_path(image_id))
        on = (mask > 0) & (mask != 255)
        on[:, :8] = False
        write_gray(out / f"{image_id}.png", np.where(on, 230, 20).astype(np.uint8))
    return out


def _read_dir(directory: Path, ids) -> dict[str, np.ndarray]:
    assert sorted(p.name for p in directory.iterdir()) == sorted(f"{i}.png" for i in ids)
    return {image_id: read_label_map(directory / f"{image_id}.png") for image_id in ids}


def test_make_sonet_labels_box_kinds(dataset: Path, objectness_dir: Path, tmp_path: Path):
    index = load_index(dataset)
    ids = index.ids("train")
    boxes = read_boxes(dataset / "boxes.csv", index.num_classes)
    out = {}
    for kind in ("box", "box_objectness", "box_objectness_ignore"):
        make_sonet_labels(
            dataset, "train", tmp_path / kind, kind=kind, objectness_dir=objectness_dir,
            workers=2 if kind == "box" else 1,
        )
        out[kind] = _read_dir(tmp_path / kind, ids)
    for image_id in ids:
        objectness = read_label_map(objectness_dir / f"{image_id}.png") / 255.0
        on = objectness > 0.5
        box, masked, ignored = (out[kind][image_id] for kind in ("box", "box_objectness", "box_objectness_ignore"))
        np.testing.assert_array_equal(box, box_labels(boxes[image_id], (64, 64), None, ignore=False))
        np.testing.assert_array_equal(masked, np.where(on, box, 0))
        np.testing.assert_array_equal(
            ignored, box_labels(boxes[image_id], (64, 64), objectness, ignore=True, alpha=0.3, inner_fraction=0.6)
        )
        assert set(np.unique(box)) - {0} <= set(index.present_classes(image_id))
        assert (box > 0).any() and (box != 255).all()
        assert (masked[:, :8] == 0).all() and (ignored[:, :8] == 0).all()
        # the ignore strategy only turns labelled pixels into 255
        changed = ignored != masked
        assert (ignored[changed] == 255).all() and (masked[changed] > 0).all()
    assert any((out["box_objectness_ignore"][image_id] == 255).any() for image_id in ids)


def test_make_sonet_labels_cam_kinds(dataset: Path, objectness_dir: Path, tmp_path: Path):
    index = load_index(dataset)
    ids = index.ids("train")
    rng = np.random.default_rng(0)
    store_path = tmp_path / "cams.h5"
    with write_store(store_path) as store:
        for image_id in ids:
            classes = np.asarray(index.present_classes(image_id), dtype=np.int64)
            scam = rng.random((len(classes), 64, 64)).astype(np.float32) ** 3
            store.add(image_id, {"cam": scam, "scam": scam, "pcam": scam}, classes=classes)
    make_sonet_labels(dataset, "train", tmp_path / "cam", kind="cam", cam_store=store_path, cam_threshold=0.3)
    make_sonet_labels(
        dataset, "train", tmp_path / "cam_obj", kind="cam_objectness", cam_store=store_path,
        objectness_dir=objectness_dir, delta=0.01,
    )
    cam_labels, cam_obj_labels = _read_dir(tmp_path / "cam", ids), _read_dir(tmp_path / "cam_obj", ids)
    with read_store(store_path) as store:
        for image_id in ids:
            record = store.read(image_id, "scam")
            objectness = read_label_map(objectness_dir / f"{image_id}.png") / 255.0
            classes = list(record["classes"])
            np.testing.assert_array_equal(
                cam_labels[image_id], cam_objectness_labels(record["scam"], classes, None, delta=0.3)
            )
            np.testing.assert_array_equal(
                cam_obj_labels[image_id], cam_objectness_labels(record["scam"], classes, objectness, delta=0.01)
            )
            assert (cam_labels[image_id] == 0).any() and (cam_obj_labels[image_id][:, :8] == 0).all()


def _write_boxes(path: Path, rows) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("image_id", "class", "x0", "y0", "x1", "y1"))
        writer.writerows(rows)


def test_missing_boxes_wrong_objectness_and_bad_arguments(dataset: Path, objectness_dir: Path, tmp_path: Path):
    rows = [row for row in csv.reader((dataset / "boxes.csv").open()) if row[0] != "train_0001"][1:]
    _write_boxes(tmp_path / "partial.csv", rows)
    with pytest.raises(InputError, match=r"partial\.csv: no box for image 'train_0001'"):
        make_sonet_labels(dataset, "train", tmp_path / "out", kind="box", boxes_csv=tmp_path / "partial.csv")
    assert not (tmp_path / "out").exists()

    small = tmp_path / "small_objectness"
    for image_id in load_index(dataset).ids("train"):
        write_gray(small / f"{image_id}.png", np.zeros((32, 32), dtype=np.uint8))
    with pytest.raises(InputError, match=r"train_0000\.png: map is 32x32, its image is 64x64"):
        make_sonet_labels(dataset, "train", tmp_path / "out", kind="box_objectness", objectness_dir=small)
    assert not (tmp_path / "out").exists()

    with pytest.raises(ValueError, match="kind must be one of"):
        make_sonet_labels(dataset, "train", tmp_path / "out", kind="boxes")
    with pytest.raises(ValueError, match="needs objectness_dir"):
        make_sonet_labels(dataset, "train", tmp_path / "out", kind="box_objectness_ignore")
    with pytest.raises(ValueError, match="needs cam_store"):
        make_sonet_labels(dataset, "train", tmp_path / "out", kind="cam")


def test_read_boxes_validates_columns_classes_and_coordinates(tmp_path: Path):
    path = tmp_path / "boxes.csv"
    _write_boxes(path, [("a", 1, 0, 0, 4, 4), ("b", 2, 1, 1, 3, 2), ("a", 3, 2, 2, 5, 6)])
    assert read_boxes(path, 3) == {"a": [(1, 0, 0, 4, 4), (3, 2, 2, 5, 6)], "b": [(2, 1, 1, 3, 2)]}
    with pytest.raises(InputError, match=r"boxes\.csv:4: class 3 of image 'a' is outside 1\.\.2"):
        read_boxes(path, 2)
    _write_boxes(path, [("a", 1, 4, 0, 4, 4)])
    with pytest.raises(InputError, match=r"boxes\.csv:2: box \(4, 0, 4, 4\) of image 'a' is empty"):
        read_boxes(path)
    path.write_text("image_id,class,x0,y0,x1\na,1,0,0,4\n")
    with pytest.raises(InputError, match=r"missing column\(s\) \['y1'\]"):
        read_boxes(path)
    with pytest.raises(InputError, match="file not found"):
        read_boxes(tmp_path / "none.csv")


def test_sdi_ignore_region_keeps_every_boxs_inner_share_and_ignores_its_ring():
    """Table 5(b), G^B_SDI: each box (the largest too) keeps the inner 20 % of its area, the rest of it is 255."""
    boxes = [(1, 0, 0, 20, 20), (2, 30, 0, 40, 10)]  # apart: no overlap, the paper's strategy would ignore nothing
    labels = box_labels(boxes, (20, 40), None, ignore=False, sdi_inner_fraction=0.2)
    for cls, x0, y0, x1, y1 in boxes:
        ix0, iy0, ix1, iy1 = inner_box(x0, y0, x1, y1, 0.2)
        inner = labels[iy0:iy1, ix0:ix1]
        assert (inner == cls).all() and inner.size == pytest.approx(0.2 * (x1 - x0) * (y1 - y0), abs=x1 - x0)
        ring = labels[y0:y1, x0:x1].copy()
        ring[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = 0
        assert set(np.unique(ring)) == {0, 255}
    assert (labels[:, 20:30] == 0).all()
    plain = box_labels(boxes, (20, 40), None, ignore=True)
    assert not (plain == 255).any()
    objectness = np.zeros((20, 40))
    assert (box_labels(boxes, (20, 40), objectness, ignore=False, sdi_inner_fraction=0.2) == 0).all()
    with pytest.raises(ValueError, match="choose one ignore strategy"):
        box_labels(boxes, (20, 40), None, ignore=True, sdi_inner_fraction=0.2)
