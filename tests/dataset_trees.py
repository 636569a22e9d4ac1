"""Tiny synthetic trees in the layouts of real datasets (Cityscapes, an objectness source folder), drawn with cv2."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SKY, ROAD, EGO = 23, 7, 1  # Cityscapes label ids
THING_IDS = (24, 26, 28, 33)  # person, car, bus, bicycle
# One BGR colour per drawn label id, so that classes are learnable from colour.
COLOURS = {SKY: (200, 160, 90), ROAD: (80, 80, 80), EGO: (0, 0, 0), 24: (40, 40, 220), 26: (220, 60, 40), 28: (40, 200, 230), 33: (60, 200, 60)}


def _objects(rng: np.random.Generator, height: int, width: int) -> list[tuple[int, int, int, int, int]]:
    """1-3 (label id, y0, x0, y1, x1) rectangles."""
    objects = []
    for _ in range(int(rng.integers(1, 4))):
        h, w = int(rng.integers(height // 5, height // 2)), int(rng.integers(width // 6, width // 3))
        y0, x0 = int(rng.integers(0, height - h - 2)), int(rng.integers(0, width - w))
        objects.append((int(rng.choice(THING_IDS)), y0, x0, y0 + h, x0 + w))
    return objects


def write_cityscapes_frame(root: Path, split: str, city: str, stem: str, rng: np.random.Generator, size: tuple[int, int]) -> None:
    """One ``leftImg8bit`` image and its ``gtFine`` label-id and instance-id PNGs."""
    height, width = size
    label_ids = np.full((height, width), SKY, dtype=np.uint8)
    label_ids[height // 2 :] = ROAD
    label_ids[-2:] = EGO
    instance_ids = label_ids.astype(np.uint16)
    for k, (label_id, y0, x0, y1, x1) in enumerate(_objects(rng, height, width)):
        label_ids[y0:y1, x0:x1] = label_id
        instance_ids[y0:y1, x0:x1] = label_id * 1000 + k
    image = np.zeros((height, width, 3), dtype=np.uint8)
    for label_id, colour in COLOURS.items():
        image[label_ids == label_id] = colour
    image = np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)
    for folder, name, array in (
        ("leftImg8bit", f"{stem}_leftImg8bit.png", image),
        ("gtFine", f"{stem}_gtFine_labelIds.png", label_ids),
        ("gtFine", f"{stem}_gtFine_instanceIds.png", instance_ids),
    ):
        directory = root / folder / split / city
        directory.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(directory / name), array)


def write_cityscapes_tree(root: Path, counts: dict[str, int], size: tuple[int, int] = (48, 96), seed: int = 0) -> Path:
    """A Cityscapes tree with ``counts[split]`` frames per split, two cities per split."""
    rng = np.random.default_rng(seed)
    for split, count in counts.items():
        for number in range(count):
            city = f"{split}city{number % 2}"
            write_cityscapes_frame(root, split, city, f"{city}_{number:06d}_000019", rng, size)
    return root


def write_objectness_source(root: Path, count: int, size: int = 64, seed: int = 0) -> Path:
    """A ``folder`` objectness source: images/, binary masks/ (0 stuff, 1 thing) and classes.csv."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    lines = ["image_id,classes"]
    for number in range(count):
        image = np.full((size, size, 3), COLOURS[ROAD], dtype=np.uint8)
        mask = np.zeros((size, size), dtype=np.uint8)
        for label_id, y0, x0, y1, x1 in _objects(rng, size, size):
            image[y0:y1, x0:x1] = COLOURS[label_id]
            mask[y0:y1, x0:x1] = 1
        image_id = f"src{number:03d}"
        cv2.imwrite(str(root / "images" / f"{image_id}.png"), np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8))
        cv2.imwrite(str(root / "masks" / f"{image_id}.png"), mask)
        lines.append(f"{image_id},{'dog' if number % 2 else 'person'}")
    (root / "classes.csv").write_text("\n".join(lines) + "\n")
    return root
