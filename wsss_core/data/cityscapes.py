"""Index a Cityscapes tree as a things-only dataset root (SONet, Table 4).

Layout read (the official ``leftImg8bit_trainvaltest`` + ``gtFine_trainvaltest`` archives)::

    leftImg8bit/<split>/<city>/<stem>_leftImg8bit.png
    gtFine/<split>/<city>/<stem>_gtFine_labelIds.png      uint8 Cityscapes label ids
    gtFine/<split>/<city>/<stem>_gtFine_instanceIds.png   16-bit: label_id * 1000 + k for
                                                          an instance, label_id for the rest

Classes. Only the 8 *things* classes are kept (the objectness network does not
model stuff, so the paper uses things alone for pseudo labels, training and
evaluation): person, rider, car, truck, bus, train, motorcycle, bicycle
(label ids 24-28, 31-33) become classes 1..8 in that order.

Ground-truth masks (built into ``<output>/masks/<id>.png``): things -> 1..8;
the void category (label ids 0-6: unlabeled, ego vehicle, rectification border,
out of roi, static, dynamic, ground), license plates (-1) and the two things
Cityscapes excludes from evaluation (caravan 29, trailer 30) -> 255 (ignore);
every other (stuff) label id -> 0 (background). Group regions of a things class
(e.g. ``cargroup``: instance value < 1000) keep their class in the mask.

Boxes (``boxes.csv``): the tight box of every instance (instance value >= 1000
of a things label id), 0-based pixels, x1 / y1 exclusive; group regions have no
box. Image labels: the things classes present in the mask.

The image id is ``<stem>`` (e.g. ``aachen_000000_000019``); each split lists
its images sorted by id.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image

from wsss_core.data.dataset import BoxRow, IndexProblems, IndexRow, write_index_files
from wsss_core.io import IGNORE_LABEL, InputError, atomic_directory, check_size, write_label_map
from wsss_core.logs import progress

#: The 8 things classes, class index i + 1 for ``THINGS[i]``, with their Cityscapes label ids.
THINGS: tuple[tuple[str, int], ...] = (
    ("person", 24),
    ("rider", 25),
    ("car", 26),
    ("truck", 27),
    ("bus", 28),
    ("train", 31),
    ("motorcycle", 32),
    ("bicycle", 33),
)
#: Label ids mapped to ignore: the void category and the things excluded from evaluation.
IGNORED_LABEL_IDS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 29, 30)
INSTANCE_OFFSET = 1000
IMAGE_SUFFIX = "_leftImg8bit.png"


def label_lookup() -> np.ndarray:
    """``(256,)`` uint8 table: Cityscapes label id -> things class (1..8), 0 (stuff) or 255 (void / ignored)."""
    table = np.zeros(256, dtype=np.uint8)
    table[list(IGNORED_LABEL_IDS)] = IGNORE_LABEL
    table[34:] = IGNORE_LABEL  # not a Cityscapes label id (license plate, -1, is stored as 255 here)
    for class_index, (_, label_id) in enumerate(THINGS, start=1):
        table[label_id] = class_index
    return table


def things_mask(label_ids: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint8 things mask of a ``*_labelIds.png`` array (see the module docstring)."""
    return label_lookup()[label_ids]


def instance_boxes(instance_ids: np.ndarray) -> list[tuple[int, int, int, int, int]]:
    """(class, x0, y0, x1, y1) of every things instance of an ``*_instanceIds.png`` array, by instance value."""
    class_of = {label_id: index for index, (_, label_id) in enumerate(THINGS, start=1)}
    boxes = []
    for value in np.unique(instance_ids):
        label_id = int(value) // INSTANCE_OFFSET
        if value < INSTANCE_OFFSET or label_id not in class_of:
            continue
        rows, cols = np.nonzero(instance_ids == value)
        boxes.append((class_of[label_id], int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1))
    return boxes


def _read_array(path: Path, what: str) -> np.ndarray:
    if not path.is_file():
        raise InputError(f"{path}: {what} not found")
    try:
        with Image.open(path) as image:
            array = np.asarray(image)
    except OSError as err:
        raise InputError(f"{path}: not a readable PNG ({err})") from err
    if array.ndim != 2:
        raise InputError(f"{path}: {what} must be a single-channel PNG, got shape {array.shape}")
    return array


def _image_size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as image:
            return image.height, image.width
    except OSError as err:
        raise InputError(f"{path}: not a readable image ({err})") from err


def _split_images(root: Path, split: str, directory: str) -> list[Path]:
    image_dir = root / "leftImg8bit" / directory
    if not image_dir.is_dir():
        raise InputError(f"{image_dir}: image directory of split {split!r} not found")
    images = sorted(image_dir.glob(f"*/*{IMAGE_SUFFIX}"), key=lambda path: path.name)
    if not images:
        raise InputError(f"{image_dir}: no <city>/*{IMAGE_SUFFIX} image in split {split!r}")
    return images


def index_cityscapes(
    cityscapes_root: str | Path, output_dir: str | Path, *, splits: Mapping[str, str], record_problems: bool = False
) -> None:
    """Write a things-only dataset index of ``cityscapes_root`` (masks, boxes, labels) to ``output_dir``, atomically.

    ``splits`` maps a split name of the index to a Cityscapes split directory,
    e.g. ``{"train": "train", "val": "val"}``. Raises :class:`InputError`
    naming the directory for a missing or empty split directory. The problems
    of single images (a missing annotation, an unreadable or multi-channel
    annotation PNG, an annotation whose size differs from its image, an image
    id present twice) are collected over all splits and raised together, or,
    with ``record_problems``, recorded in the index for the input check
    (:class:`~wsss_core.data.dataset.IndexProblems`).
    """
    root = Path(cityscapes_root).resolve()
    if not root.is_dir():
        raise InputError(f"{root}: Cityscapes root directory not found")
    if not splits:
        raise InputError(f"{root}: no split given (splits maps a split name to a leftImg8bit/ directory)")
    listed = {split: _split_images(root, split, str(directory)) for split, directory in splits.items()}
    rows: list[IndexRow] = []
    boxes: list[BoxRow] = []
    seen: dict[str, str] = {}
    problems = IndexProblems(record=record_problems)
    with atomic_directory(output_dir) as tmp:
        (tmp / "masks").mkdir()
        for split, images in listed.items():
            for image_path in progress(images, total=len(images), desc=f"index Cityscapes {split}"):
                indexed = problems.run(_index_image, root, tmp, split, image_path, seen)
                if indexed is not None:
                    rows.append(indexed[0])
                    boxes.extend(indexed[1])
        problems.settle(tmp)
        write_index_files(tmp, [name for name, _ in THINGS], rows, boxes)


def _index_image(root: Path, index_dir: Path, split: str, image_path: Path, seen: dict[str, str]) -> tuple[IndexRow, list[BoxRow]]:
    """The index row and instance boxes of one image; its things mask is written to ``index_dir/masks``."""
    image_id = image_path.name[: -len(IMAGE_SUFFIX)]
    if image_id in seen:
        raise InputError(f"{image_path}: image id {image_id!r} is already in split {seen[image_id]!r}")
    seen[image_id] = split
    gt_stem = root / "gtFine" / image_path.parent.relative_to(root / "leftImg8bit") / f"{image_id}_gtFine"
    label_path, instance_path = Path(f"{gt_stem}_labelIds.png"), Path(f"{gt_stem}_instanceIds.png")
    label_ids = _read_array(label_path, "label-id map")
    instance_ids = _read_array(instance_path, "instance-id map")
    size = _image_size(image_path)
    check_size(label_path, label_ids.shape, size, "its image")
    check_size(instance_path, instance_ids.shape, size, "its image")
    if label_ids.dtype != np.uint8:
        raise InputError(f"{label_path}: label ids must be 8-bit, got {label_ids.dtype}")
    mask = things_mask(label_ids)
    write_label_map(index_dir / "masks" / f"{image_id}.png", mask)
    present = np.flatnonzero(np.bincount(mask.ravel(), minlength=256)[1 : len(THINGS) + 1]) + 1
    row = (image_id, split, tuple(int(c) for c in present), image_path, Path("masks") / f"{image_id}.png")
    return row, [(image_id, *box) for box in instance_boxes(instance_ids)]
