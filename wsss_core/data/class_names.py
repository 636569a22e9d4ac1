"""Class names of the datasets, as the objectness source and the target compare them (SONet Eq. 1).

Names are compared case-insensitively, with ``_`` read as a space
(:func:`normalise_name`). :func:`dataset_class_names` gives a run's target
classes before its index exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from wsss_core.data.cityscapes import THINGS
from wsss_core.data.coco import COCO_CATEGORY_IDS
from wsss_core.data.openimages import resolve_class_map
from wsss_core.data.voc import VOC_CLASSES

# The 80 COCO thing names, in the order of COCO_CATEGORY_IDS (category ids 1..90
# with gaps: 12, 26, 29, 30, 45, 66, 68, 69, 71, 83 are unused).
_COCO_NAMES_IN_ID_ORDER = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip
assert len(_COCO_NAMES_IN_ID_ORDER) == len(COCO_CATEGORY_IDS) == 80

#: COCO category id (1..90) -> thing name, e.g. 1 -> "person", 25 -> "giraffe".
#: A stuffthingmaps pixel value v in 0..90 is category id v + 1.
COCO_THING_NAMES: dict[int, str] = dict(zip(COCO_CATEGORY_IDS, _COCO_NAMES_IN_ID_ORDER))


def normalise_name(name: str) -> str:
    """A class name for comparison: lower case, ``_`` as a space, single spaces."""
    return " ".join(name.strip().lower().replace("_", " ").split())


def dataset_class_names(config: Mapping[str, Any]) -> set[str] | None:
    """The class names of a run's training dataset, None when only its index will know them (a folder without classes.txt)."""
    kind = config["dataset"]["kind"]
    if kind == "voc":
        return set(VOC_CLASSES)
    if kind == "openimages":
        return set(resolve_class_map(config["dataset"]["class_map"]).values())
    if kind == "coco":
        return set(COCO_THING_NAMES.values())
    if kind == "cityscapes":
        return {name for name, _ in THINGS}
    classes = Path(config["data_root"] or ".") / "classes.txt"
    return {line.strip() for line in classes.read_text().splitlines() if line.strip()} if kind == "folder" and classes.is_file() else None
