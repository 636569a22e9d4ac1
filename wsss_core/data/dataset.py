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
from typing import Iterable, Sequence

import numpy as np

from wsss_core.io import InputError, atomic_directory

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


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
        if image_id in self.files:
            return self.files[image_id][0]
        for suffix in IMAGE_SUFFIXES:
            candidate = self.root / "images" / f"{image_id}{suffix}"
            if candidate.is_file():
                return candidate
        raise InputError(f"{self.root / 'images'}: no image file for id {image_id!r}")

    def mask_path(self, image_id: str) -> Path:
        """Path of the ground-truth label map of ``image_id`` (evaluation only)."""
        if image_id in self.files:
            mask = self.files[image_id][1]
            if mask is None:
                raise InputError(f"{self.root / 'files.csv'}: image {image_id!r} has no ground-truth mask")
            return mask
        return self.root / "masks" / f"{image_id}.png"

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


def write_index(
    output_dir: str | Path,
    class_names: Sequence[str],
    rows: Iterable[tuple[str, str, Sequence[int], Path, Path | None]],
    boxes: Iterable[tuple[str, int, int, int, int, int]] | None = None,
) -> None:
    """Write an index (``classes.txt``, ``image_labels.csv``, ``files.csv``) atomically.

    ``rows`` are (image_id, split, labels, image path, mask path or None).
    ``boxes`` (optional) are (image_id, class, x0, y0, x1, y1) rows, x1 / y1
    exclusive, written to ``boxes.csv`` in the same directory.
    """
    with atomic_directory(output_dir) as tmp:
        if boxes is not None:
            with (tmp / "boxes.csv").open("w", newline="") as boxes_handle:
                boxes_writer = csv.writer(boxes_handle, lineterminator="\n")
                boxes_writer.writerow(("image_id", "class", "x0", "y0", "x1", "y1"))
                boxes_writer.writerows(boxes)
        (tmp / "classes.txt").write_text("".join(f"{name}\n" for name in class_names))
        with (tmp / "image_labels.csv").open("w", newline="") as labels_handle, (tmp / "files.csv").open(
            "w", newline=""
        ) as files_handle:
            labels_writer = csv.writer(labels_handle, lineterminator="\n")
            files_writer = csv.writer(files_handle, lineterminator="\n")
            labels_writer.writerow(("image_id", "split", "labels"))
            files_writer.writerow(("image_id", "image", "mask"))
            for image_id, split, labels, image_path, mask_path in rows:
                labels_writer.writerow((image_id, split, " ".join(str(label) for label in labels)))
                files_writer.writerow((image_id, str(image_path), "" if mask_path is None else str(mask_path)))
