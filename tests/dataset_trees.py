"""Tiny synthetic trees in the layouts of real datasets (Cityscapes, Open Images, PASCAL VOC, MS COCO, COCO-Stuff), drawn with cv2."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from wsss_core.data.openimages import OPENIMAGES_TO_VOC
from wsss_core.data.voc import VOC_CLASSES
from wsss_core.io import read_label_map, write_label_map

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


def _write_guidance(path: Path, foreground: np.ndarray, rng: np.random.Generator) -> None:
    """A saliency map of ``foreground`` (bool, H x W), as an off-the-shelf detector gives one: soft, noisy, 0-255."""
    saliency = cv2.GaussianBlur(foreground.astype(np.float32) * 0.9, (5, 5), 1.5)
    saliency = np.clip(saliency + rng.normal(0, 0.05, foreground.shape), 0, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), (saliency * 255).astype(np.uint8))


def write_voc_paper_tree(root: Path, counts: dict[str, int], saliency_dir: str, size: tuple[int, int] = (48, 64), seed: int = 1) -> Path:
    """A VOC2012 tree as ``configs/voc12_paper.yaml`` reads it: :func:`write_voc_tree` plus saliency maps of the
    labelled splits in ``saliency_dir``; the ``test`` split unlabelled (no mask, no XML), as VOC's own test set."""
    write_voc_tree(root, counts, size=size, seed=seed)
    rng = np.random.default_rng(seed + 100)
    for split in counts:
        for image_id in (root / "ImageSets" / "Segmentation" / f"{split}.txt").read_text().split():
            if split == "test":
                (root / "SegmentationClassAug" / f"{image_id}.png").unlink()
                (root / "Annotations" / f"{image_id}.xml").unlink()
                continue
            mask = read_label_map(root / "SegmentationClassAug" / f"{image_id}.png")
            _write_guidance(root / saliency_dir / f"{image_id}.png", mask > 0, rng)
    return root


# COCO category ids of the drawn classes (instances JSON) and their COCO-Stuff values (category id - 1)
COCO_IDS = {"person": 1, "car": 3, "dog": 18}
COCO_STUFF_GRASS = 123


def write_coco_tree(root: Path, counts: dict[str, int], saliency_dir: str, size: tuple[int, int] = (48, 64), seed: int = 3) -> Path:
    """An MS COCO 2014 tree (``configs/coco14_paper.yaml``): ``<split>2014/COCO_<split>2014_<id>.jpg``,
    ``annotations/instances_<split>2014.json`` with one polygon per drawn object, and saliency maps of the
    train images named by image stem in ``saliency_dir``."""
    rng = np.random.default_rng(seed)
    categories = [{"id": cid, "name": name, "supercategory": "thing"} for name, cid in COCO_IDS.items()]
    (root / "annotations").mkdir(parents=True)
    annotation_id = 1
    for split, count in counts.items():
        folder = root / f"{split}2014"
        folder.mkdir()
        images, annotations = [], []
        for number in range(1, count + 1):
            stem = f"COCO_{split}2014_{number:012d}"
            image, objects = _draw_scene(rng, size)
            cv2.imwrite(str(folder / f"{stem}.jpg"), image)
            images.append({"id": number, "file_name": f"{stem}.jpg", "height": size[0], "width": size[1]})
            foreground = np.zeros(size, dtype=bool)
            for name, x0, y0, x1, y1 in objects:
                polygon = [float(v) for v in (x0, y0, x1, y0, x1, y1, x0, y1)]
                annotations.append({"id": annotation_id, "image_id": number, "category_id": COCO_IDS[name], "iscrowd": 0,
                                    "segmentation": [polygon], "area": float((x1 - x0) * (y1 - y0)), "bbox": [x0, y0, x1 - x0, y1 - y0]})  # fmt: skip
                annotation_id += 1
                foreground[y0:y1, x0:x1] = True
            if split == "train":
                _write_guidance(root / saliency_dir / f"{stem}.png", foreground, rng)
        payload = {"images": images, "annotations": annotations, "categories": categories}
        (root / "annotations" / f"instances_{split}2014.json").write_text(json.dumps(payload))
    return root


COCO_GIRAFFE = 25  # a COCO thing of no VOC class


def write_coco_stuff_tree(
    root: Path, split: str, count: int, size: tuple[int, int] = (48, 64), seed: int = 5, giraffes: int = 0
) -> Path:
    """A COCO-Stuff tree (objectness source, ``objectness.source_kind: coco_stuff``): ``images/<split>/<id>.jpg`` and
    stuff-thing maps ``annotations/<split>/<id>.png`` (drawn things = COCO category id - 1 on grass, a 255 border).
    The last ``giraffes`` of the ``count`` images show their things as giraffes, no VOC class: the non-overlapping
    subset (Eq. 1) of a VOC run."""
    rng = np.random.default_rng(seed)
    (root / "images" / split).mkdir(parents=True)
    (root / "annotations" / split).mkdir(parents=True)
    for number in range(1, count + 1):
        image, objects = _draw_scene(rng, size)
        stuffthing = np.full(size, COCO_STUFF_GRASS, dtype=np.uint8)
        for name, x0, y0, x1, y1 in objects:
            stuffthing[y0:y1, x0:x1] = (COCO_GIRAFFE if number > count - giraffes else COCO_IDS[name]) - 1
        stuffthing[0] = 255
        cv2.imwrite(str(root / "images" / split / f"{number:012d}.jpg"), image)
        cv2.imwrite(str(root / "annotations" / split / f"{number:012d}.png"), stuffthing)
    return root
