"""Index an MS COCO 2014 tree as a dataset root, with semantic masks built from instances.

:func:`index_coco` writes the layout of :mod:`wsss_core.data.dataset`:
``classes.txt``, ``image_labels.csv`` and a ``files.csv`` with the absolute
paths of every image (left in the COCO tree) and of its semantic mask.

Class indices. The categories of the instances JSON, sorted by category id,
become the classes 1..K in that order (0 is background, 255 ignore). For the
80 categories of COCO 2014 (ids 1..90 with gaps) that is :data:`COCO_CATEGORY_IDS`:
category ``COCO_CATEGORY_IDS[i - 1]`` is class ``i``, e.g. person (id 1) is class 1
and toothbrush (id 90) is class 80. All splits must list the same categories.

Semantic masks. COCO only has instance annotations, so the semantic mask of an
image is rasterised once with pycocotools and cached as a VOC-palette PNG in
``<mask_cache>/<split>/<image stem>.png``; a later run reuses every cached PNG
of the right size (and valid values) instead of rebuilding it. Rasterisation:

* ``iscrowd`` regions are set to 255 (ignore) first;
* non-crowd instances are then painted in decreasing order of their pixel area
  (ties: increasing annotation id), so a smaller object ends on top of a larger
  one it overlaps, and an instance overwrites the crowd regions it covers.

Image-level labels are the classes present in the built mask. So a class that
appears only as a crowd region, or whose instances are entirely hidden under
smaller objects, is not an image label. Images without any annotation are kept:
an all-background mask and an empty label list.

The image id of the index is the file stem, e.g. ``COCO_train2014_000000000009``;
each split lists its images sorted by id.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from wsss_core.data.dataset import IndexProblems, IndexRow, write_index
from wsss_core.io import IGNORE_LABEL, InputError, check_size, read_label_map, write_label_map
from wsss_core.logs import progress

# The 80 category ids of COCO 2014 instances, in increasing order; position i - 1
# holds the category of class index i (1..80).
COCO_CATEGORY_IDS: tuple[int, ...] = (
    *range(1, 12),  # person .. fire hydrant
    *range(13, 26),  # stop sign .. giraffe
    27,  # backpack
    28,  # umbrella
    *range(31, 45),  # handbag .. bottle
    *range(46, 66),  # wine glass .. bed
    67,  # dining table
    70,  # toilet
    *range(72, 83),  # tv .. refrigerator
    *range(84, 91),  # book .. toothbrush
)

# Class indices must stay below the ignore value.
MAX_CLASSES = IGNORE_LABEL - 1


def index_coco(
    coco_root: str | Path,
    output_dir: str | Path,
    *,
    splits: Mapping[str, tuple[str, str]],
    mask_cache: str | Path,
    record_problems: bool = False,
) -> None:
    """Write a dataset index of the COCO tree ``coco_root`` to ``output_dir`` (atomically).

    ``splits`` maps a split name to ``(image directory, instances JSON)``, both
    relative to ``coco_root`` (or absolute), e.g.
    ``{"train": ("train2014", "annotations/instances_train2014.json")}``.
    Semantic masks are built into (or reused from) ``mask_cache``, which lives
    outside ``output_dir`` so that re-indexing does not rebuild them.

    Raises :class:`InputError` naming the file for a missing or malformed JSON,
    a missing image directory, inconsistent categories across splits and an
    annotation of an unknown image. The problems of single images (a missing
    image, an annotation of an unknown category, an image id (file stem)
    present twice) are collected over all splits and raised together, or, with
    ``record_problems``, recorded in the index for the input check
    (:class:`~wsss_core.data.dataset.IndexProblems`).
    """
    coco_root = Path(coco_root).resolve()
    mask_cache = Path(mask_cache).resolve()
    if not coco_root.is_dir():
        raise InputError(f"{coco_root}: COCO root directory not found")
    if not splits:
        raise InputError(f"{coco_root}: no split given (splits maps a split name to (image dir, instances JSON))")

    # Check every input path before the (slow) loading of any JSON.
    inputs: list[tuple[str, Path, Path]] = []
    for split, entry in splits.items():
        try:
            image_dir, json_file = entry
        except (TypeError, ValueError) as err:
            raise InputError(f"split {split!r}: expected (image directory, instances JSON), got {entry!r}") from err
        image_dir, json_path = _under(coco_root, image_dir), _under(coco_root, json_file)
        if not json_path.is_file():
            raise InputError(f"{json_path}: instances JSON of split {split!r} not found")
        if not image_dir.is_dir():
            raise InputError(f"{image_dir}: image directory of split {split!r} not found")
        inputs.append((str(split), image_dir, json_path))

    class_names: tuple[str, ...] | None = None
    categories_source: Path | None = None
    rows: list[IndexRow] = []
    seen: dict[str, str] = {}
    problems = IndexProblems(record=record_problems)
    for split, image_dir, json_path in inputs:
        coco = _load_coco(json_path)
        category_ids = sorted(coco.cats)
        names = tuple(str(coco.cats[cat_id].get("name", cat_id)).strip() for cat_id in category_ids)
        if class_names is None:
            class_names, categories_source = names, json_path
        elif names != class_names:
            raise InputError(f"{json_path}: categories differ from those of {categories_source}")
        class_of = {cat_id: index for index, cat_id in enumerate(category_ids, start=1)}

        images = sorted(coco.imgs.values(), key=lambda info: Path(str(info.get("file_name", ""))).stem)
        for info in progress(images, total=len(images), desc=f"index COCO {split}"):
            row = problems.run(_index_image, info, (split, image_dir, json_path), coco, class_of, mask_cache, seen)
            if row is not None:
                rows.append(row)

    assert class_names is not None
    write_index(output_dir, class_names, rows, problems=problems)


def _index_image(
    info: dict, source: tuple[str, Path, Path], coco, class_of: Mapping[int, int], mask_cache: Path, seen: dict[str, str]
) -> IndexRow:
    """The index row of one COCO image entry (its semantic mask built into, or reused from, ``mask_cache``).

    ``source`` is (split, image directory, instances JSON); ``seen`` maps the ids indexed so far to their split.
    """
    split, image_dir, json_path = source
    file_name = str(info.get("file_name", ""))
    image_id = Path(file_name).stem
    if not image_id:
        raise InputError(f"{json_path}: image {info.get('id')!r} has no file_name")
    if image_id in seen:
        raise InputError(f"{json_path}: image id {image_id!r} is already in split {seen[image_id]!r}")
    seen[image_id] = split
    image_path = image_dir / file_name
    if not image_path.is_file():
        raise InputError(f"{image_path}: image listed in {json_path} not found")
    mask_path = mask_cache / split / f"{image_id}.png"
    mask = _cached_mask(mask_path, info, len(class_of))
    if mask is None:
        mask = semantic_mask(coco, info["id"], class_of, json_path)
        write_label_map(mask_path, mask)
    present = np.flatnonzero(np.bincount(mask.ravel(), minlength=256))
    return image_id, split, tuple(int(value) for value in present if 1 <= value <= len(class_of)), image_path, mask_path


def semantic_mask(coco, image_key: int, class_of: Mapping[int, int], json_path: Path) -> np.ndarray:
    """``(H, W)`` uint8 class map of one image: crowd = 255, smaller instances on top."""
    info = coco.imgs[image_key]
    height, width = int(info["height"]), int(info["width"])
    mask = np.zeros((height, width), dtype=np.uint8)
    instances: list[tuple[int, int, int, np.ndarray]] = []
    for ann in coco.imgToAnns.get(image_key, []):
        category = ann.get("category_id")
        if category not in class_of:
            raise InputError(f"{json_path}: annotation {ann.get('id')!r} has unknown category {category!r}")
        region = _decode(coco, ann, (height, width), json_path)
        if region is None:
            continue
        if ann.get("iscrowd", 0):
            mask[region] = IGNORE_LABEL
        else:
            instances.append((-int(region.sum()), int(ann.get("id", 0)), class_of[category], region))
    for _, _, class_index, region in sorted(instances, key=lambda item: item[:2]):
        mask[region] = class_index
    return mask


def _decode(coco, ann: dict, shape: tuple[int, int], json_path: Path) -> np.ndarray | None:
    """Boolean region of an annotation (polygons or RLE); None for an empty segmentation."""
    segmentation = ann.get("segmentation")
    if not segmentation:
        return None
    try:
        with warnings.catch_warnings():
            # pycocotools' decode triggers NumPy 2's "copy keyword" DeprecationWarning on every call
            warnings.filterwarnings("ignore", message=".*copy keyword", category=DeprecationWarning)
            region = coco.annToMask(ann)
    except Exception as err:  # pycocotools raises assorted types on malformed input
        raise InputError(f"{json_path}: cannot rasterise annotation {ann.get('id')!r} ({err})") from err
    if region.ndim == 3:  # a list of RLEs decodes to one channel per RLE
        region = region.any(axis=2)
    check_size(json_path, region.shape, shape, "its image", noun=f"annotation {ann.get('id')!r}")
    return region.astype(bool)


def _cached_mask(mask_path: Path, info: dict, num_classes: int) -> np.ndarray | None:
    """The cached mask if it exists, is readable, has the image size and valid values."""
    if not mask_path.is_file():
        return None
    try:
        mask = read_label_map(mask_path)
    except InputError:
        return None
    if mask.shape != (int(info["height"]), int(info["width"])):
        return None
    if np.any((mask > num_classes) & (mask != IGNORE_LABEL)):
        return None
    return mask


def _load_coco(json_path: Path):
    """A pycocotools ``COCO`` object of an instances JSON, with clear errors."""
    from pycocotools.coco import COCO

    try:
        with json_path.open() as handle:
            dataset = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{json_path}: not a readable JSON file ({err})") from err
    if not isinstance(dataset, dict):
        raise InputError(f"{json_path}: expected a JSON object with images, annotations and categories")
    missing = {"images", "annotations", "categories"} - set(dataset)
    if missing:
        raise InputError(f"{json_path}: missing key(s) {sorted(missing)}")
    if not dataset["categories"]:
        raise InputError(f"{json_path}: no categories")
    if len(dataset["categories"]) > MAX_CLASSES:
        raise InputError(f"{json_path}: {len(dataset['categories'])} categories, at most {MAX_CLASSES} supported")
    for image in dataset["images"]:
        missing = {"id", "file_name", "height", "width"} - set(image)
        if missing:
            raise InputError(f"{json_path}: image entry {image.get('id')!r} lacks key(s) {sorted(missing)}")
    image_keys = {image["id"] for image in dataset["images"]}
    for ann in dataset["annotations"]:
        if ann.get("image_id") not in image_keys:
            raise InputError(
                f"{json_path}: annotation {ann.get('id')!r} refers to unknown image {ann.get('image_id')!r}"
            )
    coco = COCO()
    coco.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):  # createIndex prints progress lines
        coco.createIndex()
    return coco


def _under(root: Path, path: str | Path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else root / path
