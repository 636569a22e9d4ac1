"""The source dataset of the objectness network (SONet Sec. 2.1) and the overlap filter of Eq. 1.

Source datasets (:func:`load_source`):

* ``coco_stuff``: the COCO-Stuff tree ``<root>/images/<split>/<name>.jpg`` and
  ``<root>/annotations/<split>/<name>.png`` (the "stuffthingmaps": uint8 label
  ids, 0..90 = COCO thing category id - 1, 91..181 = stuff, 255 = unlabelled).
  The "COCO-Binary" mask of the paper maps every thing id to 1, every stuff id
  to 0 and keeps 255 (ignored by the loss). The class names of an image are the
  COCO thing names (:data:`COCO_THING_NAMES`) of the ids present.
* ``folder`` (also ``generated``, the ``source/`` folder the demo dataset
  writes in this layout): ``<root>/images/<id>.png|.jpg|.jpeg``, ``<root>/masks/<id>.png``
  (0 = stuff / background, 1..254 = object, 255 = ignore) and, optionally,
  ``<root>/classes.csv`` with columns ``image_id,classes`` (space-separated
  class names present; write a name containing spaces with underscores, e.g.
  ``dining_table``). Without ``classes.csv`` only the overlapping setting is
  possible.

Settings of Eq. 1: *overlapping* trains on every source image;
*non-overlapping* (D_S-dagger, :func:`filter_non_overlapping`) first removes
every source image containing a class that overlaps a target class. Class
names are compared case-insensitively, with ``_`` read as a space.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from wsss_core.data.dataset import IMAGE_SUFFIXES
from wsss_core.io import IGNORE_LABEL, InputError, binarize_label_map, read_gray
from wsss_core.logs import progress
from wsss_core.data.class_names import COCO_THING_NAMES, normalise_name

log = logging.getLogger(__name__)

SOURCE_KINDS = ("coco_stuff", "folder", "generated")  # generated: the demo dataset's source/ folder

# stuffthingmaps value -> COCO-Binary value: things 1, stuff 0, unlabelled 255.
COCO_STUFF_NUM_THINGS = 91  # values 0..90 are things, 91..181 stuff
_COCO_BINARY_LUT = np.zeros(256, dtype=np.uint8)
_COCO_BINARY_LUT[:COCO_STUFF_NUM_THINGS] = 1
_COCO_BINARY_LUT[IGNORE_LABEL] = IGNORE_LABEL


def coco_binary_mask(stuffthing: np.ndarray) -> np.ndarray:
    """COCO-Binary: a stuffthingmaps label map -> 1 for things (0..90), 0 for stuff, 255 kept."""
    return _COCO_BINARY_LUT[np.asarray(stuffthing, dtype=np.uint8)]


def coco_stuff_class_names(stuffthing: np.ndarray) -> frozenset[str]:
    """COCO thing names present in a stuffthingmaps label map.

    A thing value without a COCO category (an unused id) is named ``coco_category_<id>``.
    """
    counts = np.bincount(np.asarray(stuffthing, dtype=np.uint8).ravel(), minlength=256)
    names = set()
    for value in np.flatnonzero(counts[:COCO_STUFF_NUM_THINGS]):
        category = int(value) + 1
        names.add(COCO_THING_NAMES.get(category, f"coco_category_{category}"))
    return frozenset(names)




@dataclass(frozen=True)
class SourceSample:
    """One source image: its paths, how to read its mask, and the class names it contains.

    ``class_names`` is ``None`` when unknown (a ``folder`` source without
    ``classes.csv``, or a ``coco_stuff`` source listed without classes).
    """

    image_id: str
    image_path: Path
    mask_path: Path
    mask_format: str  # "coco_stuff" or "folder"
    class_names: frozenset[str] | None = None

    def binary_mask(self) -> np.ndarray:
        """The (H, W) uint8 thing(1) / stuff(0) / ignore(255) mask."""
        raw = read_gray(self.mask_path)
        return coco_binary_mask(raw) if self.mask_format == "coco_stuff" else binarize_label_map(raw)


def _coco_stuff_samples(root: Path, split: str, with_classes: bool) -> list[SourceSample]:
    image_dir, annotation_dir = root / "images" / split, root / "annotations" / split
    for directory in (image_dir, annotation_dir):
        if not directory.is_dir():
            raise InputError(
                f"{directory}: directory not found (COCO-Stuff layout: images/<split>, annotations/<split>)"
            )
    images = sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    samples = []
    for image_path in progress(images, total=len(images), desc=f"COCO-Stuff {split}", enabled=with_classes):
        mask_path = annotation_dir / f"{image_path.stem}.png"
        if not mask_path.is_file():
            raise InputError(f"{mask_path}: annotation of {image_path.name} not found")
        names = coco_stuff_class_names(read_gray(mask_path)) if with_classes else None
        samples.append(SourceSample(image_path.stem, image_path, mask_path, "coco_stuff", names))
    return samples


def _read_classes_csv(path: Path) -> dict[str, frozenset[str]]:
    table: dict[str, frozenset[str]] = {}
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"image_id", "classes"} - set(reader.fieldnames or ())
        if missing:
            raise InputError(f"{path}: missing column(s) {sorted(missing)}")
        for line_no, row in enumerate(reader, start=2):
            image_id = (row["image_id"] or "").strip()
            if image_id in table:
                raise InputError(f"{path}:{line_no}: image id {image_id!r} listed twice")
            table[image_id] = frozenset(normalise_name(name) for name in (row["classes"] or "").split())
    return table


def _folder_samples(root: Path) -> list[SourceSample]:
    image_dir, mask_dir = root / "images", root / "masks"
    if not image_dir.is_dir():
        raise InputError(f"{image_dir}: directory not found (folder source layout: images/, masks/, classes.csv)")
    images: dict[str, Path] = {}
    for path in sorted(image_dir.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            if path.stem in images:
                raise InputError(f"{image_dir}: two images for id {path.stem!r}")
            images[path.stem] = path
    classes_csv = root / "classes.csv"
    classes = _read_classes_csv(classes_csv) if classes_csv.is_file() else None
    if classes is not None:
        unknown = sorted(set(classes) - set(images))
        if unknown:
            log.warning("%s: %d id(s) without an image ignored (e.g. %r)", classes_csv, len(unknown), unknown[0])
    samples = []
    for image_id, image_path in images.items():
        mask_path = mask_dir / f"{image_id}.png"
        if not mask_path.is_file():
            raise InputError(f"{mask_path}: mask of image {image_id!r} not found")
        names = None
        if classes is not None:
            if image_id not in classes:
                raise InputError(f"{classes_csv}: no row for image id {image_id!r}")
            names = classes[image_id]
        samples.append(SourceSample(image_id, image_path, mask_path, "folder", names))
    return samples


def load_source(
    kind: str, root: str | Path, *, split: str = "train2017", with_classes: bool = True
) -> list[SourceSample]:
    """List the samples of a source dataset of ``kind`` (one of :data:`SOURCE_KINDS`).

    ``split`` selects the COCO-Stuff sub-directory (ignored by ``folder``).
    With ``with_classes`` the class names of every COCO-Stuff image are read
    from its annotation (one pass over all annotation PNGs); a ``folder``
    source takes them from ``classes.csv`` when present.
    """
    root = Path(root)
    if kind == "coco_stuff":
        samples = _coco_stuff_samples(root, split, with_classes)
    elif kind in ("folder", "generated"):
        samples = _folder_samples(root)
    else:
        raise ValueError(f"unknown objectness source kind {kind!r}; available: {SOURCE_KINDS}")
    if not samples:
        raise InputError(f"{root}: the {kind} source holds no image")
    return samples


def filter_non_overlapping(
    samples: Sequence[SourceSample],
    target_class_names: Sequence[str],
    class_map: Mapping[str, str] | None = None,
) -> list[SourceSample]:
    """Eq. 1, non-overlapping setting D_S-dagger: drop each sample containing a target class.

    A source class overlaps when its name is a target class name, or when
    ``class_map[name]`` is (``class_map`` maps source names to target names,
    e.g. :data:`COCO_TO_VOC`). Names are compared case-insensitively with
    ``_`` read as a space. Samples whose classes are unknown are an error.
    """
    targets = {normalise_name(name) for name in target_class_names}
    mapping = {normalise_name(k): normalise_name(v) for k, v in (class_map or {}).items()}
    kept: list[SourceSample] = []
    dropped_by: dict[str, int] = {}
    for sample in samples:
        if sample.class_names is None:
            raise InputError(
                f"{sample.image_path}: class names unknown, cannot apply the non-overlapping filter "
                "(a folder source needs classes.csv)"
            )
        overlapping = sorted(
            name
            for name in (normalise_name(n) for n in sample.class_names)
            if name in targets or mapping.get(name) in targets
        )
        if overlapping:
            for name in overlapping:
                dropped_by[name] = dropped_by.get(name, 0) + 1
        else:
            kept.append(sample)
    log.info(
        "non-overlapping source: kept %d of %d samples (dropped %d containing %d target class(es))",
        len(kept),
        len(samples),
        len(samples) - len(kept),
        len(targets),
    )
    if dropped_by:
        counts = ", ".join(f"{name} ({count})" for name, count in sorted(dropped_by.items()))
        log.info("source classes overlapping the target: %s", counts)
    return kept

