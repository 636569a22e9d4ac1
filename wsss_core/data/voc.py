"""Index a PASCAL VOC 2012 tree (optionally with the SBD "aug" masks) as a dataset root.

:func:`index_voc` writes the layout of :mod:`wsss_core.data.dataset` without
copying any pixel: ``classes.txt`` (the 20 VOC classes, :data:`VOC_CLASSES`),
``image_labels.csv`` and a ``files.csv`` with the absolute paths of every image
and ground-truth mask inside the original tree. The usual inputs are::

    VOC2012/
        JPEGImages/<id>.jpg
        SegmentationClassAug/<id>.png      VOC + SBD masks (grayscale or palette)
        Annotations/<id>.xml               object annotations
        ImageSets/Segmentation/train_aug.txt, val.txt, test.txt

Image-level labels of an id come from its mask when the mask exists (the
classes 1..20 with at least one pixel; background 0 and the ignore value 255
are not labels), otherwise from its XML annotation: the ``<name>`` of every
``<object>``, *including* objects flagged ``difficult`` or ``truncated`` (they
are in the image, so the image-level label is correct for them). An id with
neither a mask nor an XML file is an error, except in a split named ``test``,
whose images usually come without any annotation: they are indexed with an
empty label list and no mask.

Every image with an XML annotation (mask or not) also gets the
``<bndbox>`` of each of its objects (difficult and truncated ones included)
in ``boxes.csv`` (columns image_id, class, x0, y0, x1, y1): VOC's 1-based
inclusive pixel coordinates become 0-based ones with x1 / y1 exclusive
(x0 = xmin - 1, x1 = xmax). Objects without a ``<bndbox>`` give no box.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from wsss_core.data.dataset import BoxRow, IndexProblems, IndexRow, id_digest, write_index
from wsss_core.io import IGNORE_LABEL, InputError, check_size, read_image_size, read_label_map
from wsss_core.logs import progress

VOC_CLASSES: tuple[str, ...] = (
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)

# The only split allowed to hold ids without any annotation (no mask, no XML).
UNLABELLED_SPLIT = "test"

_CLASS_INDEX = {name: index for index, name in enumerate(VOC_CLASSES, start=1)}
_VALID_MASK_VALUES = np.zeros(256, dtype=bool)
_VALID_MASK_VALUES[: len(VOC_CLASSES) + 1] = True
_VALID_MASK_VALUES[IGNORE_LABEL] = True


def index_voc(
    voc_root: str | Path,
    output_dir: str | Path,
    *,
    splits: Mapping[str, str | Path],
    mask_dir: str = "SegmentationClassAug",
    image_dir: str = "JPEGImages",
    annotation_dir: str = "Annotations",
    holdout: Mapping | None = None,
    record_problems: bool = False,
) -> None:
    """Write a dataset index of the VOC tree ``voc_root`` to ``output_dir`` (atomically).

    ``splits`` maps a split name to an id-list file, relative to ``voc_root``
    unless absolute. A line holds an image id (``2007_000032``) or, as in some
    ``train_aug.txt`` files, an image / mask pair
    (``/JPEGImages/2007_000032.jpg /SegmentationClassAug/2007_000032.png``):
    the id is the stem of the first whitespace-separated token; blank lines are
    skipped. Splits keep the order of their lists, in the order of ``splits``.

    ``holdout`` (optional), e.g. ``{"from": "train", "to": "val", "fraction": 0.2}``,
    moves ``round(fraction * n)`` of the ``n`` ids of split ``from`` into split
    ``to`` (created, or extended at its end). The ids moved are those with the
    smallest SHA-1 digest of the id, so the choice depends neither on the order
    of the list nor on Python's hash seed.

    Raises :class:`InputError` naming the offending file for a missing or
    malformed list. The problems of single ids (listed twice; a missing image
    or annotation; a malformed mask: not a palette / grayscale PNG, values
    outside 0..20 and 255, size different from the image; a malformed XML
    file) are collected over the whole tree and raised together,
    or, with ``record_problems``, recorded in the index for the input check
    (:class:`~wsss_core.data.dataset.IndexProblems`).
    """
    voc_root = Path(voc_root).resolve()
    if not voc_root.is_dir():
        raise InputError(f"{voc_root}: VOC root directory not found")
    if not splits:
        raise InputError(f"{voc_root}: no split given (splits maps a split name to an id-list file)")
    problems = IndexProblems(record=record_problems)
    split_ids = _read_splits(voc_root, splits, problems)
    if holdout is not None:
        _apply_holdout(split_ids, holdout)

    folders = (voc_root / image_dir, voc_root / mask_dir, voc_root / annotation_dir)
    rows: list[IndexRow] = []
    boxes: list[BoxRow] = []
    assignments = [(split, image_id) for split, ids in split_ids.items() for image_id in ids]
    for split, image_id in progress(assignments, total=len(assignments), desc="index VOC"):
        indexed = problems.run(_index_image, folders, split, image_id)
        if indexed is not None:
            rows.append(indexed[0])
            boxes.extend(indexed[1])

    write_index(output_dir, VOC_CLASSES, rows, boxes=boxes, problems=problems)


def _index_image(folders: tuple[Path, Path, Path], split: str, image_id: str) -> tuple[IndexRow, list[BoxRow]]:
    """The index row and the boxes of one id; ``folders`` are the image, mask and annotation folders."""
    images, masks, annotations = folders
    image_path = images / f"{image_id}.jpg"
    if not image_path.is_file():
        raise InputError(f"{image_path}: image of {image_id!r} (split {split!r}) not found")
    mask_path: Path | None = masks / f"{image_id}.png"
    xml_path = annotations / f"{image_id}.xml"
    boxes: list[BoxRow] = []
    if xml_path.is_file():
        xml_labels, xml_boxes = _read_xml(xml_path)
        boxes = [(image_id, *box) for box in xml_boxes]
    if mask_path.is_file():
        labels = _labels_from_mask(mask_path, image_path)
    elif xml_path.is_file():
        mask_path = None
        labels = xml_labels
    elif split == UNLABELLED_SPLIT:
        mask_path = None
        labels = ()
    else:
        raise InputError(
            f"image {image_id!r} (split {split!r}) has neither a mask ({mask_path}) "
            f"nor an annotation ({xml_path}); only a split named {UNLABELLED_SPLIT!r} may be unlabelled"
        )
    return (image_id, split, labels, image_path, mask_path), boxes


def _read_splits(voc_root: Path, splits: Mapping[str, str | Path], problems: IndexProblems) -> dict[str, list[str]]:
    """The ids of every split's list (relative to ``voc_root`` unless absolute); an id listed twice is a problem."""
    split_ids: dict[str, list[str]] = {}
    seen: dict[str, str] = {}
    for split, list_file in splits.items():
        list_path = Path(list_file)
        if not list_path.is_absolute():
            list_path = voc_root / list_path
        ids = []
        for image_id in read_id_list(list_path, problems):
            if image_id in seen:
                problems.add(f"{list_path}: image id {image_id!r} is already listed in split {seen[image_id]!r}")
                continue
            seen[image_id] = split
            ids.append(image_id)
        split_ids[str(split)] = ids
    return split_ids


def read_id_list(list_path: Path, problems: IndexProblems | None = None) -> list[str]:
    """Image ids of an id-list file (plain ids or image / mask path pairs).

    An id listed twice raises :class:`InputError`, or with ``problems`` is kept there (and listed once).
    """
    if not list_path.is_file():
        raise InputError(f"{list_path}: id-list file not found")
    ids: list[str] = []
    listed: set[str] = set()
    for line_no, line in enumerate(list_path.read_text().splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        image_id = Path(tokens[0]).stem
        if not image_id:
            raise InputError(f"{list_path}:{line_no}: no image id in {line.strip()!r}")
        if image_id in listed:
            message = f"{list_path}:{line_no}: image id {image_id!r} listed twice"
            if problems is None:
                raise InputError(message)
            problems.add(message)
            continue
        listed.add(image_id)
        ids.append(image_id)
    return ids


def holdout_ids(ids: list[str] | tuple[str, ...], fraction: float) -> set[str]:
    """The ``round(fraction * len(ids))`` ids with the smallest SHA-1 digest."""
    count = round(fraction * len(ids))
    ranked = sorted(ids, key=lambda image_id: (id_digest(image_id), image_id))
    return set(ranked[:count])


def _apply_holdout(split_ids: dict[str, list[str]], holdout: Mapping) -> None:
    """Move a stable-hash subset of one split to another, in place (order kept)."""
    missing = {"from", "to", "fraction"} - set(holdout)
    if missing:
        raise InputError(f"holdout: missing key(s) {sorted(missing)} (expected from, to, fraction)")
    source, target = str(holdout["from"]), str(holdout["to"])
    try:
        fraction = float(holdout["fraction"])
    except (TypeError, ValueError) as err:
        raise InputError(f"holdout: fraction must be a number, got {holdout['fraction']!r}") from err
    if not 0.0 <= fraction <= 1.0:
        raise InputError(f"holdout: fraction must be in [0, 1], got {fraction}")
    if source not in split_ids:
        raise InputError(f"holdout: split {source!r} is not among the splits {sorted(split_ids)}")
    if source == target:
        raise InputError(f"holdout: 'from' and 'to' are the same split {source!r}")
    moved = holdout_ids(split_ids[source], fraction)
    split_ids.setdefault(target, []).extend(image_id for image_id in split_ids[source] if image_id in moved)
    split_ids[source] = [image_id for image_id in split_ids[source] if image_id not in moved]


def _labels_from_mask(mask_path: Path, image_path: Path) -> tuple[int, ...]:
    """Classes 1..20 present in a VOC mask, which is validated on the way."""
    mask = read_label_map(mask_path)
    present = np.flatnonzero(np.bincount(mask.ravel(), minlength=256))
    bad = [int(value) for value in present if not _VALID_MASK_VALUES[value]]
    if bad:
        raise InputError(
            f"{mask_path}: mask value(s) {bad[:5]} outside 0..{len(VOC_CLASSES)} and {IGNORE_LABEL}"
        )
    check_size(mask_path, mask.shape, read_image_size(image_path), f"image {image_path.name}", noun="mask")
    return tuple(int(value) for value in present if 1 <= value <= len(VOC_CLASSES))


def _read_xml(xml_path: Path) -> tuple[tuple[int, ...], list[tuple[int, int, int, int, int]]]:
    """Classes of all ``<object>`` elements (difficult ones included) and their boxes.

    Boxes are (class, x0, y0, x1, y1) in 0-based pixels with x1 / y1
    exclusive, converted from VOC's 1-based inclusive ``<bndbox>``
    (non-integer coordinates are rounded; x0 / y0 are clipped at 0).
    """
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as err:
        raise InputError(f"{xml_path}: not a valid XML annotation ({err})") from err
    labels: set[int] = set()
    boxes: list[tuple[int, int, int, int, int]] = []
    for obj in root.findall("object"):
        name = (obj.findtext("name") or "").strip()
        if name not in _CLASS_INDEX:
            raise InputError(f"{xml_path}: object name {name!r} is not a PASCAL VOC class")
        labels.add(_CLASS_INDEX[name])
        bndbox = obj.find("bndbox")
        if bndbox is None:
            continue
        try:
            xmin, ymin, xmax, ymax = (
                round(float(bndbox.findtext(key) or "")) for key in ("xmin", "ymin", "xmax", "ymax")
            )
        except (ValueError, OverflowError) as err:
            raise InputError(f"{xml_path}: a {name!r} <bndbox> needs numeric xmin, ymin, xmax, ymax ({err})") from err
        x0, y0, x1, y1 = max(0, xmin - 1), max(0, ymin - 1), xmax, ymax
        if x1 <= x0 or y1 <= y0:
            raise InputError(
                f"{xml_path}: empty {name!r} box (xmin {xmin}, ymin {ymin}, xmax {xmax}, ymax {ymax})"
            )
        boxes.append((_CLASS_INDEX[name], x0, y0, x1, y1))
    return tuple(sorted(labels)), boxes
