"""Tests of the generated demo dataset."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from wsss_core.data.dataset import load_index
from wsss_core.data.scenes import DISTRACTOR_HUES, MIN_CLASSES, render_scene
from wsss_core.data.synthetic import generate_dataset
from wsss_core.io import read_label_map, read_rgb

NUM_TRAIN, NUM_VAL, SIZE = 14, 6, 64


def _generate(root: Path, seed: int = 7) -> Path:
    generate_dataset(root, num_train=NUM_TRAIN, num_val=NUM_VAL, image_size=SIZE, seed=seed, num_classes=6, num_source=0)
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def _distractor_pixels(image: np.ndarray) -> np.ndarray:
    """Saturated, bright pixels in the distractor hue band (no class palette reaches it)."""
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV_FULL).astype(np.float32)
    hue = hsv[..., 0] * 360.0 / 256.0
    low, high = DISTRACTOR_HUES
    return (hue >= low + 2) & (hue <= high - 2) & (hsv[..., 1] > 0.75 * 255) & (hsv[..., 2] > 0.75 * 255)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generate(tmp_path_factory.mktemp("synthetic") / "data")


def test_same_seed_is_byte_identical_and_other_seed_differs(dataset: Path, tmp_path: Path) -> None:
    again = _files(_generate(tmp_path / "again"))
    assert again == _files(dataset)
    other = _files(_generate(tmp_path / "other", seed=8))
    assert other.keys() == again.keys()
    assert other != again


def test_layout_loads(dataset: Path) -> None:
    index = load_index(dataset)
    assert index.num_classes >= MIN_CLASSES
    assert len(set(index.class_names)) == index.num_classes
    assert index.ids("train") == tuple(f"train_{i:04d}" for i in range(NUM_TRAIN))
    assert index.ids("val") == tuple(f"val_{i:04d}" for i in range(NUM_VAL))
    for image_id in index.image_labels:
        image = read_rgb(index.image_path(image_id))
        assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8
        assert read_label_map(index.mask_path(image_id)).shape == (SIZE, SIZE)


def test_labels_are_the_classes_in_the_mask(dataset: Path) -> None:
    index = load_index(dataset)
    for image_id, labels in index.image_labels.items():
        mask = read_label_map(index.mask_path(image_id))
        assert mask.max() <= index.num_classes
        present = tuple(int(c) for c in np.unique(mask) if c != 0)
        assert labels == present
        assert 1 <= len(labels) <= 3


def test_boxes_are_tight_boxes_of_visible_instances(dataset: Path) -> None:
    index = load_index(dataset)
    boxes: dict[str, list[tuple[int, int, int, int, int]]] = {}
    with (dataset / "boxes.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            boxes.setdefault(row["image_id"], []).append(
                tuple(int(row[key]) for key in ("class", "x0", "y0", "x1", "y1"))  # type: ignore[misc]
            )
    assert set(boxes) == set(index.image_labels)
    for image_id, rows in boxes.items():
        assert 1 <= len(rows) <= 3
        mask = read_label_map(index.mask_path(image_id))
        assert {row[0] for row in rows} == set(index.image_labels[image_id])
        for class_index in {row[0] for row in rows}:
            covered = np.zeros_like(mask, dtype=bool)
            for cls, x0, y0, x1, y1 in rows:
                if cls != class_index:
                    continue
                assert 0 <= x0 < x1 <= SIZE and 0 <= y0 < y1 <= SIZE
                inside = mask[y0:y1, x0:x1] == class_index
                # tight: every edge of the box touches a pixel of the class
                assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()
                covered[y0:y1, x0:x1] = True
            assert not ((mask == class_index) & ~covered).any()


def test_distractors_are_salient_background(dataset: Path) -> None:
    index = load_index(dataset)
    with_distractor = 0
    for image_id in index.image_labels:
        magenta = _distractor_pixels(read_rgb(index.image_path(image_id)))
        assert not read_label_map(index.mask_path(image_id))[magenta].any()
        with_distractor += int(magenta.sum() >= 10)
    assert 0 < with_distractor < len(index.image_labels)

    scenes = [render_scene(np.random.default_rng(seed), SIZE, 6) for seed in range(40)]
    for scene in scenes:
        assert not scene.label[scene.distractor_mask].any()
        assert not (_distractor_pixels(scene.image) & ~scene.distractor_mask).any()
    assert 0.2 <= np.mean([scene.distractor_mask.any() for scene in scenes]) <= 0.6


def test_objects_keep_visible_parts_and_varied_counts() -> None:
    scenes = [render_scene(np.random.default_rng(seed), SIZE, 8) for seed in range(60)]
    counts = {len(scene.instances) for scene in scenes}
    assert counts == {1, 2, 3}
    classes = {instance.class_index for scene in scenes for instance in scene.instances}
    assert classes == set(range(1, 9))
    for scene in scenes:
        assert all(instance.visible_pixels > 0 for instance in scene.instances)


@pytest.mark.parametrize("num_classes", [MIN_CLASSES - 1, 11])
def test_rejects_unsupported_class_counts(tmp_path: Path, num_classes: int) -> None:
    with pytest.raises(ValueError):
        generate_dataset(tmp_path / "d", num_train=1, num_val=1, image_size=SIZE, seed=0, num_classes=num_classes, num_source=0)
    assert not (tmp_path / "d").exists()
