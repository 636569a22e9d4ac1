"""The maps of the objectness source's class names onto the target's (SONet Eq. 1).

Names are compared case-insensitively, with ``_`` read as a space
(:func:`~wsss_core.data.class_names.normalise_name`); the COCO thing names are
:data:`~wsss_core.data.class_names.COCO_THING_NAMES`.
"""

from __future__ import annotations

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
