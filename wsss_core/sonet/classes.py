"""Class names of the objectness source datasets and the maps of their names onto the target's (SONet Eq. 1).

Names are compared case-insensitively, with ``_`` read as a space
(:func:`normalise_name`).
"""

from __future__ import annotations

from wsss_core.data.coco import COCO_CATEGORY_IDS

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

#: COCO thing name -> PASCAL VOC class name, for the 20 VOC classes (all of them are COCO things).
COCO_TO_VOC: dict[str, str] = {
    "airplane": "aeroplane",
    "bicycle": "bicycle",
    "bird": "bird",
    "boat": "boat",
    "bottle": "bottle",
    "bus": "bus",
    "car": "car",
    "cat": "cat",
    "chair": "chair",
    "cow": "cow",
    "dining table": "diningtable",
    "dog": "dog",
    "horse": "horse",
    "motorcycle": "motorbike",
    "person": "person",
    "potted plant": "pottedplant",
    "sheep": "sheep",
    "couch": "sofa",
    "train": "train",
    "tv": "tvmonitor",
}

#: Class maps that may be named instead of given (``class_map="coco_to_voc"``).
CLASS_MAPS: dict[str, dict[str, str]] = {"coco_to_voc": COCO_TO_VOC}


def normalise_name(name: str) -> str:
    """A class name for comparison: lower case, ``_`` as a space, single spaces."""
    return " ".join(name.strip().lower().replace("_", " ").split())
