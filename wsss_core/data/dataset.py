"""The on-disk dataset layout every stage reads.

A dataset root holds::

    classes.txt        one object-class name per line; line i is class index i (1-based),
                       index 0 is always background
    image_labels.csv   columns image_id, split, labels (space-separated class indices)
    images/<id>.png    (or .jpg) RGB images
    masks/<id>.png     optional ground-truth label maps (VOC palette, 255 = ignore);
                       read only by evaluation, never by the weakly supervised path
    files.csv          optional, columns image_id, image, mask: where the image and
                       mask of an id live when not under images/ and masks/ (the
                       indexes built for PASCAL VOC and MS COCO point into the
                       original dataset tree this way; an empty mask = none)
    boxes.csv          optional, columns image_id, class, x0, y0, x1, y1: object boxes in
                       0-based pixels, x1 / y1 exclusive (box-driven pseudo labels)

The generated demo dataset (:mod:`wsss_core.data.synthetic`) writes this layout.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from wsss_core.io import IGNORE_LABEL, InputError, atomic_directory

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def find_image(root: Path, files: Mapping[str, tuple[Path, Path | None]], image_id: str) -> Path | None:
    """The image of ``image_id`` in an index at ``root``: its files.csv row, else images/<id>.png|.jpg|.jpeg; None if none."""
    if image_id in files:
        return files[image_id][0]
    for suffix in IMAGE_SUFFIXES:
        candidate = root / "images" / f"{image_id}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def id_digest(image_id: str) -> str:
    """SHA-1 hex digest of an image id: a stable order that depends on neither list order nor Python's hash seed."""
    return hashlib.sha1(image_id.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class DatasetIndex:
    """Class names, splits and image-level labels of one dataset root."""

    root: Path
    class_names: tuple[str, ...]
    image_labels: dict[str, tuple[int, ...]]
    splits: dict[str, tuple[str, ...]]
    files: dict[str, tuple[Path, Path | None]] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        """Number of object classes C (background not counted)."""
        return len(self.class_names)

    def ids(self, split: str) -> tuple[str, ...]:
        """Image ids of ``split`` in file order."""
        if split not in self.splits:
            raise InputError(
                f"{self.root / 'image_labels.csv'}: no image in split {split!r} "
                f"(splits present: {sorted(self.splits)})"
            )
        return self.splits[split]

    def image_path(self, image_id: str) -> Path:
        """Path of the RGB image of ``image_id`` (files.csv, else images/<id>.png|.jpg|.jpeg)."""
        found = find_image(self.root, self.files, image_id)
        if found is not None:
            return found
        raise InputError(f"{self.root / 'images'}: no image file for id {image_id!r}")

    def mask_path(self, image_id: str) -> Path:
        """Path of the ground-truth label map of ``image_id`` (evaluation only)."""
        if image_id in self.files:
            mask = self.files[image_id][1]
            if mask is None:
                raise InputError(f"{self.root / 'files.csv'}: image {image_id!r} has no ground-truth mask")
            return mask
        return self.root / "masks" / f"{image_id}.png"

    def has_mask(self, image_id: str) -> bool:
        """Whether a ground-truth label map of ``image_id`` exists (a folder dataset may have none)."""
        if image_id in self.files:
            return self.files[image_id][1] is not None and self.files[image_id][1].is_file()
        return self.mask_path(image_id).is_file()

    def present_classes(self, image_id: str) -> tuple[int, ...]:
        """1-based indices of the object classes present in ``image_id``."""
        return self.image_labels[image_id]

    def multi_hot(self, image_id: str) -> np.ndarray:
        """Image-level label vector ``(C,)`` float32, 1 for each present class."""
        vector = np.zeros(self.num_classes, dtype=np.float32)
        vector[np.asarray(self.image_labels[image_id], dtype=np.int64) - 1] = 1.0
        return vector


def load_index(root: str | Path) -> DatasetIndex:
    """Read ``classes.txt`` and ``image_labels.csv`` of a dataset root, validating both."""
    root = Path(root)
    classes_file = root / "classes.txt"
    labels_file = root / "image_labels.csv"
    if not classes_file.is_file():
        raise InputError(f"{classes_file}: file not found (one class name per line expected)")
    class_names = tuple(line.strip() for line in classes_file.read_text().splitlines() if line.strip())
    if not class_names:
        raise InputError(f"{classes_file}: no class names")
    if not labels_file.is_file():
        raise InputError(f"{labels_file}: file not found (columns image_id, split, labels expected)")

    image_labels: dict[str, tuple[int, ...]] = {}
    splits: dict[str, list[str]] = {}
    with labels_file.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"image_id", "split", "labels"} - set(reader.fieldnames or ())
        if missing:
            raise InputError(f"{labels_file}: missing column(s) {sorted(missing)}")
        for line_no, row in enumerate(reader, start=2):
            image_id = row["image_id"].strip()
            try:
                labels = tuple(sorted(int(token) for token in row["labels"].split()))
            except ValueError as err:
                raise InputError(f"{labels_file}:{line_no}: labels must be class indices ({err})") from err
            bad = [label for label in labels if not 1 <= label <= len(class_names)]
            if bad:
                raise InputError(
                    f"{labels_file}:{line_no}: class index {bad[0]} of image {image_id!r} "
                    f"is outside 1..{len(class_names)}"
                )
            if image_id in image_labels:
                raise InputError(f"{labels_file}:{line_no}: image id {image_id!r} listed twice")
            image_labels[image_id] = labels
            splits.setdefault(row["split"].strip(), []).append(image_id)
    return DatasetIndex(
        root=root,
        class_names=class_names,
        image_labels=image_labels,
        splits={name: tuple(ids) for name, ids in splits.items()},
        files=_read_files(root / "files.csv"),
    )


def _read_files(files_csv: Path) -> dict[str, tuple[Path, Path | None]]:
    """The optional id -> (image, mask) table; relative paths are relative to its directory."""
    if not files_csv.is_file():
        return {}
    files: dict[str, tuple[Path, Path | None]] = {}
    with files_csv.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"image_id", "image", "mask"} - set(reader.fieldnames or ())
        if missing:
            raise InputError(f"{files_csv}: missing column(s) {sorted(missing)}")
        for row in reader:
            mask = row["mask"].strip()
            files[row["image_id"].strip()] = (
                files_csv.parent / row["image"].strip(),
                files_csv.parent / mask if mask else None,
            )
    return files


IndexRow = tuple[str, str, Sequence[int], Path | None, Path | None]
BoxRow = tuple[str, int, int, int, int, int]
BOX_COLUMNS = ("image_id", "class", "x0", "y0", "x1", "y1")

# Per-image problems an indexer recorded for the input check (one per line).
PROBLEMS_FILE = "index_problems.txt"


class IndexProblems:
    """The per-image problems an indexer meets, collected so that one run names all of them.

    ``record=False`` (a library call): :meth:`settle` raises them together, one
    :class:`InputError` listing each on its own line. ``record=True`` (rule
    ``index_dataset``): the index is written without the images concerned and
    :data:`PROBLEMS_FILE` lists the problems, which the input check
    (:mod:`wsss_core.data.validation`) reports together with its own.
    """

    def __init__(self, record: bool = False) -> None:
        self.record = record
        self.lines: list[str] = []

    def add(self, message: str) -> None:
        """Keep one problem (a line naming the file)."""
        self.lines.append(message)

    def run(self, function, *args):
        """``function(*args)``, or None when it raises :class:`InputError` (whose message is kept)."""
        try:
            return function(*args)
        except InputError as err:
            self.add(str(err))
            return None

    def settle(self, directory: Path) -> None:
        """Raise the problems together, or write them to ``directory / PROBLEMS_FILE``."""
        if not self.lines:
            return
        if not self.record:
            raise InputError(f"{len(self.lines)} problem(s) while indexing, one per line:\n" + "\n".join(self.lines))
        (directory / PROBLEMS_FILE).write_text("".join(f"{line}\n" for line in self.lines))
Box = tuple[int, int, int, int, int]  # class, x0, y0, x1, y1 (x1 / y1 exclusive)


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_index_files(
    directory: Path,
    class_names: Sequence[str],
    rows: Sequence[IndexRow],
    boxes: Iterable[BoxRow] | None = None,
) -> None:
    """Write ``classes.txt``, ``image_labels.csv`` and the optional tables into the existing ``directory``.

    ``rows`` are (image_id, split, labels, image path, mask path); with image
    paths given (not None) ``files.csv`` lists them, an absent mask as an
    empty cell. ``boxes`` (optional) are (image_id, class, x0, y0, x1, y1)
    rows, x1 / y1 exclusive, written to ``boxes.csv``.
    """
    (directory / "classes.txt").write_text("".join(f"{name}\n" for name in class_names))
    _write_csv(
        directory / "image_labels.csv",
        ("image_id", "split", "labels"),
        ((image_id, split, " ".join(str(label) for label in labels)) for image_id, split, labels, _, _ in rows),
    )
    if any(image_path is not None for *_, image_path, _ in rows):
        _write_csv(
            directory / "files.csv",
            ("image_id", "image", "mask"),
            ((row[0], str(row[3]), "" if row[4] is None else str(row[4])) for row in rows),
        )
    if boxes is not None:
        _write_csv(directory / "boxes.csv", BOX_COLUMNS, boxes)


def write_index(
    output_dir: str | Path,
    class_names: Sequence[str],
    rows: Sequence[IndexRow],
    boxes: Iterable[BoxRow] | None = None,
    problems: IndexProblems | None = None,
) -> None:
    """Write an index of files that live elsewhere (:func:`write_index_files`) as ``output_dir``, atomically.

    With ``problems``, they are raised or recorded first (:meth:`IndexProblems.settle`).
    """
    with atomic_directory(output_dir) as tmp:
        if problems is not None:
            problems.settle(tmp)
        write_index_files(tmp, class_names, rows, boxes)


def read_boxes(csv_path: str | Path, num_classes: int | None = None) -> dict[str, list[Box]]:
    """Boxes of ``boxes.csv`` (columns image_id, class, x0, y0, x1, y1; x1 / y1 exclusive) per image id.

    Classes must be in 1..``num_classes`` (1..254 when not given), coordinates
    integers with 0 <= x0 < x1 and 0 <= y0 < y1. Boxes keep the file order.
    Raises :class:`InputError` naming the file (and line) otherwise.
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise InputError(f"{csv_path}: file not found (columns {', '.join(BOX_COLUMNS)} expected)")
    top = IGNORE_LABEL - 1 if num_classes is None else num_classes
    boxes: dict[str, list[Box]] = {}
    with csv_path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(BOX_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise InputError(f"{csv_path}: missing column(s) {sorted(missing)}")
        for line_no, row in enumerate(reader, start=2):
            image_id = (row["image_id"] or "").strip()
            try:
                cls, x0, y0, x1, y1 = (int(row[key]) for key in BOX_COLUMNS[1:])
            except (TypeError, ValueError) as err:
                raise InputError(f"{csv_path}:{line_no}: class and coordinates must be integers ({err})") from err
            if not 1 <= cls <= top:
                raise InputError(f"{csv_path}:{line_no}: class {cls} of image {image_id!r} is outside 1..{top}")
            if not (0 <= x0 < x1 and 0 <= y0 < y1):
                raise InputError(
                    f"{csv_path}:{line_no}: box ({x0}, {y0}, {x1}, {y1}) of image {image_id!r} is empty or "
                    "negative (need 0 <= x0 < x1, 0 <= y0 < y1; x1 / y1 exclusive)"
                )
            boxes.setdefault(image_id, []).append((cls, x0, y0, x1, y1))
    return boxes
