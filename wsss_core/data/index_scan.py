"""A lenient read of a dataset index that collects every problem instead of stopping at the first.

:func:`wsss_core.data.dataset.load_index` stops at the first bad line, which
is right for a stage; the input check (:mod:`wsss_core.data.validation`)
wants all of them at once. :func:`scan_index` reads ``classes.txt``,
``image_labels.csv`` and ``files.csv`` of the layout described in
:mod:`wsss_core.data.dataset` and lists each problem as one line,
``<file>:<line>: <problem>``, after those the indexer of a real dataset tree
recorded for the images it left out.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from wsss_core.data.dataset import PROBLEMS_FILE, find_image


def id_problem(image_id: str) -> str | None:
    """Why ``image_id`` is not a plain file name (it names files under the dataset and the outputs), or None."""
    if not image_id:
        return "is empty"
    if "\0" in image_id:
        return "contains a NUL character"
    if os.path.isabs(image_id) or image_id.startswith("~"):
        return "is an absolute path"
    if ".." in image_id.replace("\\", "/").split("/"):
        return "leaves its folder ('..')"
    if "/" in image_id or "\\" in image_id:
        return "contains a path separator"
    if image_id.startswith("."):
        return "starts with a dot (hidden file, or '..')"
    return None


@dataclass
class IndexScan:
    """What :func:`scan_index` found: the usable rows and every problem."""

    root: Path
    class_names: tuple[str, ...] = ()
    rows: list[tuple[str, str, tuple[int, ...]]] = field(default_factory=list)  # (id, split, valid labels)
    files: dict[str, tuple[Path, Path | None]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    bad_labels: set[str] = field(default_factory=set)  # ids with a label problem (not "without labels")

    @property
    def labels_file(self) -> Path:
        """The image-level label table."""
        return self.root / "image_labels.csv"

    def split_ids(self) -> dict[str, list[str]]:
        """Split -> ids of the usable rows, in file order."""
        splits: dict[str, list[str]] = {}
        for image_id, split, _ in self.rows:
            splits.setdefault(split, []).append(image_id)
        return splits

    def image_path(self, image_id: str) -> Path | None:
        """The image of ``image_id`` (files.csv, else images/<id>.png|.jpg|.jpeg), None when there is none."""
        return find_image(self.root, self.files, image_id)

    def mask_path(self, image_id: str) -> Path | None:
        """Where the ground-truth mask of ``image_id`` is (it may not exist), None when files.csv says none."""
        if image_id in self.files:
            return self.files[image_id][1]
        return self.root / "masks" / f"{image_id}.png"


def _labels(scan: IndexScan, line: int, image_id: str, text: str) -> tuple[int, ...]:
    """The valid class indices of one row; a problem line for every other token."""
    where, count = f"{scan.labels_file}:{line}", len(scan.class_names)
    labels, problems = [], len(scan.problems)
    for token in text.split():
        try:
            label = int(token)
        except ValueError:
            if token in scan.class_names:
                scan.problems.append(
                    f"{where}: class name {token!r} of image {image_id!r} where a class index is expected "
                    f"(it is {scan.class_names.index(token) + 1})"
                )
            else:
                scan.problems.append(
                    f"{where}: label {token!r} of image {image_id!r} is neither a class index nor a class of classes.txt"
                )
            continue
        if not 1 <= label <= count:
            scan.problems.append(f"{where}: class index {label} of image {image_id!r} is outside 1..{count}")
            continue
        labels.append(label)
    if len(scan.problems) > problems:
        scan.bad_labels.add(image_id)
    return tuple(sorted(set(labels)))


def _scan_labels(scan: IndexScan) -> None:
    first_line: dict[str, int] = {}
    with scan.labels_file.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"image_id", "split", "labels"} - set(reader.fieldnames or ())
        if missing:
            scan.problems.append(f"{scan.labels_file}: missing column(s) {sorted(missing)}")
            return
        for line, row in enumerate(reader, start=2):
            image_id = (row["image_id"] or "").strip()
            problem = id_problem(image_id)
            if problem is not None:
                scan.problems.append(f"{scan.labels_file}:{line}: image id {image_id!r} {problem}")
                continue
            if image_id in first_line:
                scan.problems.append(
                    f"{scan.labels_file}:{line}: image id {image_id!r} listed twice (first on line {first_line[image_id]})"
                )
                continue
            first_line[image_id] = line
            labels = _labels(scan, line, image_id, row["labels"] or "")
            scan.rows.append((image_id, (row["split"] or "").strip(), labels))


def _scan_files(scan: IndexScan) -> None:
    files_csv = scan.root / "files.csv"
    if not files_csv.is_file():
        return
    with files_csv.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"image_id", "image", "mask"} - set(reader.fieldnames or ())
        if missing:
            scan.problems.append(f"{files_csv}: missing column(s) {sorted(missing)}")
            return
        for row in reader:
            mask = (row["mask"] or "").strip()
            scan.files[(row["image_id"] or "").strip()] = (
                files_csv.parent / (row["image"] or "").strip(),
                files_csv.parent / mask if mask else None,
            )


def scan_index(root: str | Path) -> IndexScan:
    """Read the index of dataset ``root`` (:mod:`wsss_core.data.dataset` layout), collecting every problem.

    Rows with a bad id or a repeated id are left out of ``rows``; a row's bad
    labels are reported and left out of its label set. The problems an indexer
    recorded (:data:`~wsss_core.data.dataset.PROBLEMS_FILE`) come first.
    """
    scan = IndexScan(root=Path(root))
    recorded = scan.root / PROBLEMS_FILE
    if recorded.is_file():
        scan.problems.extend(line for line in recorded.read_text().splitlines() if line.strip())
    classes_file = scan.root / "classes.txt"
    if not classes_file.is_file():
        scan.problems.append(f"{classes_file}: file not found (one class name per line expected)")
        return scan
    scan.class_names = tuple(line.strip() for line in classes_file.read_text().splitlines() if line.strip())
    if not scan.class_names:
        scan.problems.append(f"{classes_file}: no class names")
        return scan
    if not scan.labels_file.is_file():
        scan.problems.append(f"{scan.labels_file}: file not found (columns image_id, split, labels expected)")
        return scan
    _scan_labels(scan)
    _scan_files(scan)
    return scan
