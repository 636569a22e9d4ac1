"""The deterministic generated demo dataset, written in the layout of :mod:`wsss_core.data.dataset`.

The scenes come from :func:`wsss_core.data.scenes.render_scene`; the dataset
also holds ``boxes.csv`` (the tight box of the visible pixels of every object
instance, x1 / y1 exclusive) and, with a source split, the objectness source
of SONet in ``source/``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from wsss_core.data.dataset import BoxRow, IndexRow, write_index_files
from wsss_core.data.scenes import CLASS_NAMES, MAX_CLASSES, MIN_CLASSES, render_scene
from wsss_core.io import atomic_directory, write_label_map, write_rgb


def generate_dataset(
    root: str | Path,
    *,
    num_train: int,
    num_val: int,
    image_size: int,
    seed: int,
    num_classes: int,
    num_source: int,
) -> None:
    """Write the demo dataset to ``root`` (replacing it atomically).

    Images are ``train_0000``, ... and ``val_0000``, ...; image-level labels are
    the classes with visible pixels in the ground-truth mask. The output is a
    pure function of the arguments: each split and each image get their own
    generator spawned from ``seed``, so the same arguments give byte-identical
    files (and the train images do not depend on ``num_val`` or ``num_source``).

    With ``num_source`` > 0 a ``source/`` folder holds the source dataset of the
    objectness network (SONet, Sec. 2.1): ``images/``, binary thing masks
    ``masks/`` (1 = object of any class, 0 = background and distractors) and
    ``classes.csv`` (image_id, classes: names present). Half of its images
    show only source-only classes (:data:`CLASS_NAMES` beyond ``num_classes``),
    half draw from all classes; the non-overlapping subset of Eq. 1 is exactly
    the first half.
    """
    if not MIN_CLASSES <= num_classes <= MAX_CLASSES:
        raise ValueError(f"num_classes must be in {MIN_CLASSES}..{MAX_CLASSES}, got {num_classes}")
    if image_size < 32:
        raise ValueError(f"image_size must be at least 32, got {image_size}")
    if num_train < 0 or num_val < 0:
        raise ValueError(f"num_train and num_val must be >= 0, got {num_train}, {num_val}")

    if num_source and num_classes + 1 > MAX_CLASSES:
        raise ValueError(f"a source split needs source-only classes: num_classes must be below {MAX_CLASSES}")
    split_seeds = np.random.SeedSequence(seed).spawn(3)
    splits = (("train", num_train, split_seeds[0]), ("val", num_val, split_seeds[1]))
    with atomic_directory(root) as tmp:
        (tmp / "images").mkdir()
        (tmp / "masks").mkdir()
        rows: list[IndexRow] = []
        boxes: list[BoxRow] = []
        for split, count, split_seed in splits:
            for index, image_seed in enumerate(split_seed.spawn(count)):
                image_id = f"{split}_{index:04d}"
                scene = render_scene(np.random.default_rng(image_seed), image_size, num_classes)
                write_rgb(tmp / "images" / f"{image_id}.png", scene.image)
                write_label_map(tmp / "masks" / f"{image_id}.png", scene.label)
                rows.append((image_id, split, sorted(int(c) for c in np.unique(scene.label) if c != 0), None, None))
                boxes.extend((image_id, instance.class_index, *instance.box) for instance in scene.instances)
        write_index_files(tmp, CLASS_NAMES[:num_classes], rows, boxes)
        if num_source:
            _write_source(tmp / "source", split_seeds[2], num_source, image_size, num_classes)


def _write_source(root: Path, seed: np.random.SeedSequence, count: int, image_size: int, num_classes: int) -> None:
    """The objectness source split: images, binary thing masks and the class names present."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    source_only = list(range(num_classes + 1, MAX_CLASSES + 1))
    every_class = list(range(1, MAX_CLASSES + 1))
    with (root / "classes.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("image_id", "classes"))
        for index, image_seed in enumerate(seed.spawn(count)):
            image_id = f"source_{index:04d}"
            rng = np.random.default_rng(image_seed)
            scene = render_scene(rng, image_size, num_classes, source_only if index % 2 == 0 else every_class)
            write_rgb(root / "images" / f"{image_id}.png", scene.image)
            write_label_map(root / "masks" / f"{image_id}.png", (scene.label > 0).astype(np.uint8))
            present = sorted(int(c) for c in np.unique(scene.label) if c != 0)
            writer.writerow((image_id, " ".join(CLASS_NAMES[c - 1] for c in present)))
