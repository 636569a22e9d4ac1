"""Build the dataset index of a real dataset tree (PASCAL VOC 2012 + SBD, MS COCO 2014, Cityscapes, Open Images V5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from wsss_core.data.cityscapes import index_cityscapes
from wsss_core.data.coco import index_coco
from wsss_core.data.openimages import CLASS_DESCRIPTIONS, index_openimages
from wsss_core.data.voc import index_voc

DATASET_KINDS = ("voc", "coco", "cityscapes", "openimages")


def index_dataset(
    kind: str,
    data_root: str | Path,
    output_dir: str | Path,
    *,
    splits: Mapping[str, Any],
    holdout: Mapping[str, Any] | None = None,
    mask_cache: str | Path | None = None,
    class_map: str | Mapping[str, str] = "openimages_to_voc",
    class_descriptions: str = CLASS_DESCRIPTIONS,
    record_problems: bool = False,
) -> None:
    """Write the index of ``data_root`` (a ``kind`` dataset) to ``output_dir``.

    ``voc``: ``splits`` maps split names to id lists under ``data_root``;
    ``holdout`` optionally moves a stable subset of one split into another.
    ``coco``: ``splits`` maps split names to ``[image dir, instances json]``;
    semantic masks are built once into ``mask_cache``.
    ``cityscapes``: ``splits`` maps split names to ``leftImg8bit/`` split directories.
    ``openimages``: ``splits`` maps split names to ``[image dir, box csv]``;
    ``class_map`` (named or display name -> VOC class) picks the classes, read
    from ``class_descriptions``.
    The problems of single images are raised together, or with ``record_problems``
    recorded in the index for the input check (:class:`~wsss_core.data.dataset.IndexProblems`).
    """
    if kind not in DATASET_KINDS:
        raise ValueError(f"dataset kind {kind!r} has no index builder; available: {DATASET_KINDS}")
    if holdout and kind != "voc":
        raise ValueError("dataset.holdout is supported for voc datasets only")
    if kind == "voc":
        index_voc(data_root, output_dir, splits=splits, holdout=holdout, record_problems=record_problems)
    elif kind == "coco":
        if mask_cache is None:
            raise ValueError("coco datasets need dataset.mask_cache")
        index_coco(
            data_root,
            output_dir,
            splits={name: tuple(pair) for name, pair in splits.items()},
            mask_cache=mask_cache,
            record_problems=record_problems,
        )
    elif kind == "cityscapes":
        index_cityscapes(data_root, output_dir, splits=splits, record_problems=record_problems)
    else:  # openimages
        index_openimages(
            data_root,
            output_dir,
            splits={name: tuple(pair) for name, pair in splits.items()},
            class_map=class_map,
            class_descriptions=class_descriptions,
            record_problems=record_problems,
        )
