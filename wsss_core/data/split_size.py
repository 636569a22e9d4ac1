"""How many images a split will have, read from the dataset's sources before its index exists.

The workflow sizes its default number of shards with this when it plans the
jobs, before any rule has run, so it reads only what the configuration points
at: the generator's settings, a folder's ``image_labels.csv``, a VOC id list, a
COCO or Open Images image directory or a Cityscapes ``leftImg8bit/<split>``. It is an estimate (a VOC ``holdout`` is not applied).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from wsss_core.data.dataset import IMAGE_SUFFIXES, IndexProblems
from wsss_core.data.index_scan import scan_index
from wsss_core.data.voc import read_id_list


def split_size_hint(kind: str, data_root: str | Path | None, dataset: Mapping[str, Any], split: str) -> int | None:
    """Number of images of ``split`` for a ``kind`` dataset configured by ``dataset``; None when unknown.

    ``kind`` and ``dataset`` are the workflow's ``dataset.kind`` and
    ``dataset`` section; ``data_root`` its ``data_root``.
    """
    if kind == "generated":
        size = dataset.get("generator", {}).get(f"num_{split}")
        return None if size is None else int(size)
    if data_root is None:
        return None
    root = Path(data_root)
    if kind == "folder":
        if not (root / "image_labels.csv").is_file():
            return None
        return len(scan_index(root).split_ids().get(split, ()))  # lenient: validate_inputs reports the problems
    entry = dataset.get("splits", {}).get(split)
    if entry is None:
        return None
    if kind == "voc":
        id_list = root / entry
        # lenient: index_dataset records an id listed twice, validate_inputs reports it
        return len(read_id_list(id_list, IndexProblems(record=True))) if id_list.is_file() else None
    if kind in ("coco", "openimages"):
        image_dir = root / entry[0]
        if not image_dir.is_dir():
            return None
        return sum(1 for path in image_dir.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)
    if kind == "cityscapes":
        image_dir = root / "leftImg8bit" / entry
        return sum(1 for _ in image_dir.glob("*/*_leftImg8bit.png")) if image_dir.is_dir() else None
    return None
