"""Tiny synthetic trees in the layouts of real datasets (Cityscapes, Open Images, PASCAL VOC, an objectness source folder), drawn with cv2."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from wsss_core.data.openimages import OPENIMAGES_TO_VOC
from wsss_core.data.voc import VOC_CLASSES
from wsss_core.io import write_label_map

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


def _write_objectness_folder(root: Path, scenes: Iterator[tuple[np.ndarray, list[tuple[int, int, int, int]]]], rng: np.random.Generator) -> Path:
    """A ``folder`` objectness source of (BGR image, thing rectangles (y0, x0, y1, x1)): images/, binary masks/, classes.csv.

    ``scenes`` is drawn lazily, each before its image's noise, from the same ``rng``.
    """
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    lines = ["image_id,classes"]
    for number, (image, rectangles) in enumerate(scenes):
        mask = np.zeros(image.shape[:2], dtype=np.uint8)
        for y0, x0, y1, x1 in rectangles:
            mask[y0:y1, x0:x1] = 1
        image_id = f"src{number:03d}"
        cv2.imwrite(str(root / "images" / f"{image_id}.png"), np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8))
        cv2.imwrite(str(root / "masks" / f"{image_id}.png"), mask)
        lines.append(f"{image_id},{'dog' if number % 2 else 'person'}")
    (root / "classes.csv").write_text("\n".join(lines) + "\n")
    return root


def write_objectness_source(root: Path, count: int, size: int = 64, seed: int = 0) -> Path:
    """A ``folder`` objectness source of Cityscapes-coloured things on road: images/, binary masks/ (0 stuff, 1 thing) and classes.csv."""
    rng = np.random.default_rng(seed)

    def scenes() -> Iterator[tuple[np.ndarray, list[tuple[int, int, int, int]]]]:
        for _ in range(count):
            image = np.full((size, size, 3), COLOURS[ROAD], dtype=np.uint8)
            rectangles = []
            for label_id, y0, x0, y1, x1 in _objects(rng, size, size):
                image[y0:y1, x0:x1] = COLOURS[label_id]
                rectangles.append((y0, x0, y1, x1))
            yield image, rectangles

    return _write_objectness_folder(root, scenes(), rng)


# Open Images -> VOC fixtures (SONet Table 1c): the same three classes, drawn in the same colours on both.
CROSS_CLASSES = {"person": (40, 40, 220), "car": (220, 60, 40), "dog": (60, 200, 60)}  # VOC name: BGR colour
OPENIMAGES_NAMES = {"person": ("/m/01g317", "Person"), "car": ("/m/0k4j", "Car"), "dog": ("/m/0bt9lr", "Dog")}
OPENIMAGES_OTHER = ("/m/07j7r", "Tree")  # a class outside the VOC map


def _draw_scene(rng: np.random.Generator, size: tuple[int, int]) -> tuple[np.ndarray, list[tuple[str, int, int, int, int]]]:
    """A noisy grey image with 1-2 coloured rectangles: (BGR image, [(VOC class, x0, y0, x1, y1)], x1 / y1 exclusive)."""
    height, width = size
    image = np.full((height, width, 3), 110, dtype=np.uint8)
    objects = []
    for _ in range(int(rng.integers(1, 3))):
        name = str(rng.choice(list(CROSS_CLASSES)))
        h, w = int(rng.integers(height // 4, height // 2)), int(rng.integers(width // 4, width // 2))
        y0, x0 = int(rng.integers(0, height - h)), int(rng.integers(0, width - w))
        image[y0 : y0 + h, x0 : x0 + w] = CROSS_CLASSES[name]
        objects.append((name, x0, y0, x0 + w, y0 + h))
    return np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8), objects


def write_openimages_tree(root: Path, count: int, size: tuple[int, int] = (48, 64), seed: int = 0) -> Path:
    """An Open Images V5 tree: train/<ImageID>.jpg, train-annotations-bbox.csv, class-descriptions-boxable.csv.

    Besides the boxes of the drawn objects (normalised, each object once as Person / Car / Dog),
    the box CSV holds a box of a class outside the VOC map on every image and boxes of images
    that are not in the tree; the class file lists every display name of the shipped map.
    """
    rng = np.random.default_rng(seed)
    (root / "train").mkdir(parents=True)
    height, width = size
    header = "ImageID,Source,LabelName,Confidence,XMin,XMax,YMin,YMax,IsOccluded,IsTruncated,IsGroupOf,IsDepiction,IsInside"
    lines = [header]
    for number in range(count):
        image_id = f"{number:04x}c0ffee{number:06d}"
        image, objects = _draw_scene(rng, size)
        cv2.imwrite(str(root / "train" / f"{image_id}.jpg"), image)
        for name, x0, y0, x1, y1 in objects:
            mid = OPENIMAGES_NAMES[name][0]
            lines.append(f"{image_id},xclick,{mid},1,{x0 / width:.6f},{x1 / width:.6f},{y0 / height:.6f},{y1 / height:.6f},0,0,0,0,0")
        lines.append(f"{image_id},xclick,{OPENIMAGES_OTHER[0]},1,0.1,0.2,0.1,0.2,0,0,0,0,0")
        lines.append(f"ffff{number:012d},xclick,{OPENIMAGES_NAMES['dog'][0]},1,0.1,0.5,0.1,0.5,0,0,0,0,0")  # not downloaded
    (root / "train-annotations-bbox.csv").write_text("\n".join(lines) + "\n")
    mids = {display: mid for mid, display in OPENIMAGES_NAMES.values()}
    descriptions = [f"{mids.get(display, f'/m/fixture{k}')},{display}" for k, display in enumerate(OPENIMAGES_TO_VOC)]
    (root / "class-descriptions-boxable.csv").write_text("\n".join([*descriptions, ",".join(OPENIMAGES_OTHER)]) + "\n")
    return root


def write_voc_tree(root: Path, counts: dict[str, int], size: tuple[int, int] = (48, 64), seed: int = 1) -> Path:
    """A PASCAL VOC 2012 tree of the same scenes: JPEGImages, SegmentationClassAug, Annotations (bndbox), ImageSets lists."""
    rng = np.random.default_rng(seed)
    for folder in ("JPEGImages", "SegmentationClassAug", "Annotations", "ImageSets/Segmentation"):
        (root / folder).mkdir(parents=True)
    for split, count in counts.items():
        ids = [f"2007_{split}{number:04d}" for number in range(count)]
        for image_id in ids:
            image, objects = _draw_scene(rng, size)
            mask = np.zeros(size, dtype=np.uint8)
            body = ""
            for name, x0, y0, x1, y1 in objects:
                mask[y0:y1, x0:x1] = VOC_CLASSES.index(name) + 1
                body += f"<object><name>{name}</name><bndbox><xmin>{x0 + 1}</xmin><ymin>{y0 + 1}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>"
            cv2.imwrite(str(root / "JPEGImages" / f"{image_id}.jpg"), image)
            write_label_map(root / "SegmentationClassAug" / f"{image_id}.png", mask)
            (root / "Annotations" / f"{image_id}.xml").write_text(f"<annotation><filename>{image_id}.jpg</filename>{body}</annotation>")
        (root / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
    return root


def write_scene_objectness_source(root: Path, count: int, size: tuple[int, int] = (48, 64), seed: int = 2) -> Path:
    """A ``folder`` objectness source of the Open Images / VOC fixture scenes: their rectangles are the things."""
    rng = np.random.default_rng(seed)
    scenes = ((image, [(y0, x0, y1, x1) for _, x0, y0, x1, y1 in objects]) for image, objects in (_draw_scene(rng, size) for _ in range(count)))
    return _write_objectness_folder(root, scenes, rng)
