"""Index an Open Images V5 tree as a box-annotated training dataset onto the VOC classes (SONet, Table 1c).

Layout read (the official V5 downloads, images unpacked per split)::

    <image dir>/<ImageID>.jpg              e.g. train/000002b66c9c498e.jpg
    <box csv>                              e.g. train-annotations-bbox.csv, columns ImageID,
                                           Source, LabelName, Confidence, XMin, XMax, YMin, YMax
                                           (normalised to 0..1), IsOccluded, IsTruncated,
                                           IsGroupOf, IsDepiction, IsInside
    class-descriptions-boxable.csv         LabelName (a MID such as /m/01g317), display name;
                                           no header

Classes. A class map names, by display name, the Open Images classes kept and
the target class each becomes; the index's classes are those of the target,
PASCAL VOC (:data:`~wsss_core.data.voc.VOC_CLASSES`), so that a model trained
here predicts VOC labels (O -> V). :data:`OPENIMAGES_TO_VOC` is the shipped
map. Where Open Images splits a VOC class it takes every part: people are
labelled Person, Man, Woman, Boy or Girl (the most specific label is the one
annotated); VOC's sofa is Couch or Sofa bed. VOC's diningtable is Kitchen &
dining room table only: Open Images' Table also covers desks and coffee tables,
which VOC does not label. Every display name of the map must be in the class
file (a typo would silently drop a class otherwise).

Boxes (``boxes.csv``): every box of a mapped class on an image of the split,
group-of, occluded, truncated and depicted ones included (each marks pixels of
its class), in 0-based pixels with x1 / y1 exclusive: x0 = floor(XMin * W),
x1 = ceil(XMax * W) (likewise for y; an edge within 0.01 px of a pixel edge is
taken as that edge, the CSV's decimals being rounded), at least one pixel wide. Image labels:
the classes with a box. Images of the split without any box of a mapped class
are not indexed (the paper trains on the images of the VOC classes only).
There are no masks (Open Images has no VOC-class masks), so the index trains
and is evaluated on another dataset (config ``eval_dataset``).

The box CSV (millions of rows) is streamed once in chunks of ``chunksize``
rows, keeping the rows of the mapped classes on the listed images.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import pandas as pd

from wsss_core.data.dataset import BoxRow, IndexProblems, IndexRow, write_index
from wsss_core.data.voc import VOC_CLASSES
from wsss_core.io import InputError, read_image_size
from wsss_core.logs import progress

log = logging.getLogger(__name__)

#: Open Images display name -> VOC class (see the module docstring for the choices).
OPENIMAGES_TO_VOC: dict[str, str] = {
    "Airplane": "aeroplane",
    "Bicycle": "bicycle",
    "Bird": "bird",
    "Boat": "boat",
    "Bottle": "bottle",
    "Bus": "bus",
    "Car": "car",
    "Cat": "cat",
    "Chair": "chair",
    "Cattle": "cow",
    "Kitchen & dining room table": "diningtable",
    "Dog": "dog",
    "Horse": "horse",
    "Motorcycle": "motorbike",
    "Person": "person",
    "Man": "person",
    "Woman": "person",
    "Boy": "person",
    "Girl": "person",
    "Houseplant": "pottedplant",
    "Sheep": "sheep",
    "Couch": "sofa",
    "Sofa bed": "sofa",
    "Train": "train",
    "Television": "tvmonitor",
}
NAMED_CLASS_MAPS = {"openimages_to_voc": OPENIMAGES_TO_VOC}
CLASS_DESCRIPTIONS = "class-descriptions-boxable.csv"
BOX_CSV_COLUMNS = ("ImageID", "LabelName", "XMin", "XMax", "YMin", "YMax")
IMAGE_SUFFIX = ".jpg"
CHUNK_ROWS = 1_000_000
PIXEL_SLACK = 0.01  # pixels: a normalised edge within this of a pixel edge is that edge


def resolve_class_map(class_map: str | Mapping[str, str]) -> dict[str, str]:
    """The display name -> VOC class map of ``class_map``: a named map (``openimages_to_voc``) or a mapping."""
    if isinstance(class_map, str):
        if class_map not in NAMED_CLASS_MAPS:
            raise ValueError(f"dataset.class_map: unknown map {class_map!r}; named maps: {sorted(NAMED_CLASS_MAPS)}")
        return dict(NAMED_CLASS_MAPS[class_map])
    unknown = sorted({target for target in class_map.values() if target not in VOC_CLASSES})
    if unknown:
        raise ValueError(f"dataset.class_map: target class(es) {unknown} are not VOC classes {list(VOC_CLASSES)}")
    if not class_map:
        raise ValueError("dataset.class_map: empty (it maps Open Images display names to VOC classes)")
    return dict(class_map)


def read_class_descriptions(path: Path) -> dict[str, list[str]]:
    """Display name -> MIDs of ``class-descriptions-boxable.csv`` (two columns, no header)."""
    if not path.is_file():
        raise InputError(f"{path}: Open Images class-description file not found (MID,display name per line)")
    try:
        table = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not a readable class-description CSV ({err})") from err
    if table.shape[1] != 2:
        raise InputError(f"{path}: expected 2 columns (LabelName, display name), got {table.shape[1]}")
    mids: dict[str, list[str]] = {}
    for mid, name in zip(table[0].str.strip(), table[1].str.strip()):
        mids.setdefault(name, []).append(mid)
    return mids


def class_of_mid(descriptions_path: Path, class_map: Mapping[str, str]) -> dict[str, int]:
    """MID -> VOC class index (1-based) of every Open Images class of ``class_map``."""
    mids = read_class_descriptions(descriptions_path)
    missing = sorted(name for name in class_map if name not in mids)
    if missing:
        raise InputError(f"{descriptions_path}: no class with display name(s) {missing} (dataset.class_map)")
    index = {name: position for position, name in enumerate(VOC_CLASSES, start=1)}
    return {mid: index[target] for name, target in class_map.items() for mid in mids[name]}


def read_boxes_streamed(
    csv_path: Path, mids: Collection[str], image_ids: Collection[str], *, chunksize: int = CHUNK_ROWS
) -> pd.DataFrame:
    """The rows of ``csv_path`` (an ``*-annotations-bbox.csv``) of the ``mids`` on the ``image_ids``.

    The file is read once, ``chunksize`` rows at a time, only the columns of
    :data:`BOX_CSV_COLUMNS`; the result keeps the file order.
    """
    if not csv_path.is_file():
        raise InputError(f"{csv_path}: Open Images box CSV not found")
    try:
        header = pd.read_csv(csv_path, nrows=0).columns
        missing = [column for column in BOX_CSV_COLUMNS if column not in header]
        if missing:
            raise InputError(f"{csv_path}: missing column(s) {missing} of an Open Images box CSV")
        chunks = pd.read_csv(
            csv_path, usecols=list(BOX_CSV_COLUMNS), chunksize=chunksize,
            dtype={"ImageID": str, "LabelName": str, "XMin": float, "XMax": float, "YMin": float, "YMax": float},
        )  # fmt: skip
        wanted_mids, wanted_ids = set(mids), set(image_ids)
        kept, streamed = [], 0
        for chunk in chunks:
            kept.append(chunk[chunk["LabelName"].isin(wanted_mids) & chunk["ImageID"].isin(wanted_ids)])
            streamed += len(chunk)
            log.info("%s: %d rows read, %d kept", csv_path.name, streamed, sum(len(part) for part in kept))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, UnicodeDecodeError) as err:
        raise InputError(f"{csv_path}: not a readable Open Images box CSV ({err})") from err
    return pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=list(BOX_CSV_COLUMNS))


def pixel_box(x_min: float, x_max: float, y_min: float, y_max: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), 0-based and x1 / y1 exclusive, of a normalised Open Images box on an image of ``size`` (H, W).

    Raises :class:`ValueError` for coordinates outside 0..1 or a min above its max.
    """
    height, width = size
    if not (0.0 <= x_min <= x_max <= 1.0 and 0.0 <= y_min <= y_max <= 1.0):
        raise ValueError(f"normalised box XMin {x_min}, XMax {x_max}, YMin {y_min}, YMax {y_max} is not inside 0..1 with min <= max")

    def span(low: float, high: float, extent: int) -> tuple[int, int]:
        # the CSV's 6 or so decimals are pixel edges divided by the size: allow them PIXEL_SLACK of rounding
        start = min(math.floor(low * extent + PIXEL_SLACK), extent - 1)
        return start, max(start + 1, min(math.ceil(high * extent - PIXEL_SLACK), extent))

    (x0, x1), (y0, y1) = span(x_min, x_max, width), span(y_min, y_max, height)
    return x0, y0, x1, y1


def _split_images(root: Path, split: str, directory: str) -> dict[str, Path]:
    image_dir = root / directory
    if not image_dir.is_dir():
        raise InputError(f"{image_dir}: image directory of split {split!r} not found")
    images = {path.stem: path for path in sorted(image_dir.glob(f"*{IMAGE_SUFFIX}"))}
    if not images:
        raise InputError(f"{image_dir}: no <ImageID>{IMAGE_SUFFIX} image in split {split!r}")
    return images


def index_openimages(
    openimages_root: str | Path,
    output_dir: str | Path,
    *,
    splits: Mapping[str, Sequence[str]],
    class_map: str | Mapping[str, str] = "openimages_to_voc",
    class_descriptions: str = CLASS_DESCRIPTIONS,
    chunksize: int = CHUNK_ROWS,
    record_problems: bool = False,
) -> None:
    """Write a box-annotated, VOC-class dataset index of ``openimages_root`` to ``output_dir``, atomically.

    ``splits`` maps a split name of the index to ``[image dir, box csv]``
    (relative to the root unless absolute), e.g.
    ``{"train": ["train", "train-annotations-bbox.csv"]}``; ``class_map`` is
    a named map or display name -> VOC class; ``class_descriptions`` the
    class-description CSV. Raises :class:`InputError` naming the file for a
    missing or malformed CSV, a display name not in the class file, or a
    missing or empty image directory. The problems of single images (an
    unreadable image, a box outside 0..1, an image id present in two
    splits) are collected over all splits and raised together, or, with
    ``record_problems``, recorded in the index for the input check
    (:class:`~wsss_core.data.dataset.IndexProblems`).
    """
    root = Path(openimages_root).resolve()
    if not root.is_dir():
        raise InputError(f"{root}: Open Images root directory not found")
    if not splits:
        raise InputError(f"{root}: no split given (splits maps a split name to [image dir, box csv])")
    classes = class_of_mid(root / class_descriptions, resolve_class_map(class_map))
    problems = IndexProblems(record=record_problems)
    rows: list[IndexRow] = []
    boxes: list[BoxRow] = []
    seen: dict[str, str] = {}
    for split, (directory, box_csv) in splits.items():
        images = _split_images(root, split, directory)
        csv_path = root / box_csv
        table = read_boxes_streamed(csv_path, classes, images, chunksize=chunksize)
        grouped = table.groupby("ImageID", sort=False)
        log.info("%s: %d boxes of the mapped classes on %d of the %d images", split, len(table), grouped.ngroups, len(images))
        for image_id, image_boxes in progress(grouped, total=grouped.ngroups, desc=f"index Open Images {split}"):
            indexed = problems.run(_index_image, csv_path, split, images[image_id], image_boxes, classes, seen)
            if indexed is not None:
                rows.append(indexed[0])
                boxes.extend(indexed[1])
    write_index(output_dir, VOC_CLASSES, rows, boxes, problems=problems)


def _index_image(
    csv_path: Path, split: str, image_path: Path, image_boxes: pd.DataFrame, classes: Mapping[str, int], seen: dict[str, str]
) -> tuple[IndexRow, list[BoxRow]]:
    """The index row and pixel boxes of one image from its rows of the box CSV."""
    image_id = image_path.stem
    if image_id in seen:
        raise InputError(f"{image_path}: image id {image_id!r} is already in split {seen[image_id]!r}")
    seen[image_id] = split
    size = read_image_size(image_path)
    boxes: list[BoxRow] = []
    for mid, x_min, x_max, y_min, y_max in image_boxes[["LabelName", "XMin", "XMax", "YMin", "YMax"]].itertuples(index=False):
        try:
            boxes.append((image_id, classes[mid], *pixel_box(x_min, x_max, y_min, y_max, size)))
        except ValueError as err:
            raise InputError(f"{csv_path}: image {image_id!r}, class {mid}: {err}") from err
    labels = tuple(sorted({box[1] for box in boxes}))
    return (image_id, split, labels, image_path, None), boxes
