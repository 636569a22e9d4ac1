"""How many images a run's splits hold and what its photos look like, before anything is indexed.

Counted from the trees the configuration names where they are there
(:func:`wsss_core.data.split_size.split_size_hint`); otherwise the sizes the
datasets are published with, so that a run can be priced before its
downloads. A photo of the training split is what host costs are timed on;
without one, a synthetic image of the dataset's typical size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import cv2
import numpy as np

from wsss_core.data.dataset import IMAGE_SUFFIXES
from wsss_core.data.split_size import split_size_hint
from wsss_core.data.voc import read_id_list
from wsss_core.io import InputError, read_rgb

# (dataset kind, split name of the shipped configs): images, as published
PUBLISHED = {
    ("voc", "train_aug"): 10582, ("voc", "val"): 1449, ("voc", "test"): 1456,
    ("coco", "train"): 82783, ("coco", "val"): 40504,
    ("cityscapes", "train"): 2975, ("cityscapes", "val"): 500,
    ("openimages", "train"): 42621,  # the images of the VOC classes the objectness-guidance paper draws
    ("coco_stuff", "train2017"): 118287,
}  # fmt: skip
TYPICAL_SIZE = {"voc": (375, 500), "coco": (480, 640), "cityscapes": (1024, 2048), "openimages": (768, 1024), "folder": (375, 500)}


def _split(kind: str, root: str | None, section: Mapping[str, Any], split: str, provenance: list[str]) -> int:
    if kind == "generated":
        return int(section["generator"][f"num_{split}"]) if f"num_{split}" in section["generator"] else 0
    counted = split_size_hint(kind, root, section, split)
    if counted is not None:
        return counted
    if (kind, split) in PUBLISHED:
        provenance.append(f"{kind} {split}: {PUBLISHED[(kind, split)]:,} images as published (no tree to count)")
        return PUBLISHED[(kind, split)]
    provenance.append(f"{kind} {split}: unknown size (no tree, no published size), priced as 0")
    return 0


def _splits(kind: str, root: str | None, section: Mapping[str, Any], provenance: list[str], *, evaluated: bool = True) -> dict[str, int]:
    """Images per split of a dataset; its eval split only where it is ``evaluated``."""
    names = set(section.get("splits", {})) | {section["train_split"]} | ({section["eval_split"]} if evaluated else set())
    holdout = section.get("holdout")
    if holdout:
        names.discard(holdout["to"])
    sizes = {name: _split(kind, root, section, name, provenance) for name in sorted(names)}
    if holdout:
        moved = round(holdout["fraction"] * sizes[holdout["from"]])
        sizes[holdout["from"]] -= moved
        sizes[holdout["to"]] = sizes.get(holdout["to"], 0) + moved
    return sizes


def _source_size(config: Mapping[str, Any], provenance: list[str]) -> int:
    objectness = config["objectness"]
    if objectness["source_kind"] == "generated":
        return int(config["dataset"]["generator"]["num_source"])
    images = Path(objectness["source_root"] or ".") / "images"
    images = images / objectness["source_split"] if objectness["source_kind"] == "coco_stuff" else images
    if images.is_dir():
        return sum(1 for path in images.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)
    return _split("coco_stuff", None, {}, objectness["source_split"], provenance)


def run_sizes(config: Mapping[str, Any]) -> tuple[dict[str, int], list[str]]:
    """Images of the run: ``train``, ``eval``, ``test``, ``all`` (every split of the dataset), ``source``
    (the objectness source), ``eval_dataset`` / ``eval_train``; and a line per size not counted from a tree."""
    provenance: list[str] = []
    evaluated_here = config["eval_dataset"]["kind"] is None
    dataset = _splits(config["dataset"]["kind"], config["data_root"], config["dataset"], provenance, evaluated=evaluated_here)
    sizes = {"train": dataset[config["dataset"]["train_split"]], "all": sum(dataset.values()), "test": dataset.get("test", 0)}
    sizes["test"] = sizes["test"] if config["dataset"]["kind"] == "voc" else 0
    eval_section = config["eval_dataset"]
    if evaluated_here:
        sizes["eval"] = dataset[config["dataset"]["eval_split"]]
    else:
        other = _splits(eval_section["kind"], eval_section["data_root"], eval_section, provenance)
        sizes.update(eval=other[eval_section["eval_split"]], eval_train=other[eval_section["train_split"]], eval_dataset=1)
        sizes["all"] += sum(other.values())
    uses_objectness = config["method"] == "sonet" or config["guidance"]["method"] == "objectness"
    sizes["source"] = _source_size(config, provenance) if uses_objectness else 0
    return sizes, provenance


def _first_image(kind: str, root: Path, section: Mapping[str, Any]) -> Path | None:
    """A photo of the training split of a ``kind`` tree at ``root``, None when there is none."""
    entry = section.get("splits", {}).get(section["train_split"])
    if kind == "voc" and entry is not None and (root / entry).is_file():
        ids = read_id_list(root / entry)
        return root / "JPEGImages" / f"{ids[0]}.jpg" if ids else None
    if kind in ("coco", "openimages") and entry is not None:
        folder = root / entry[0]
    elif kind == "cityscapes" and entry is not None:
        folder = root / "leftImg8bit" / entry
    else:
        folder = root / "images"
    if not folder.is_dir():
        return None
    return next((path for path in sorted(folder.rglob("*")) if path.suffix.lower() in IMAGE_SUFFIXES), None)


def sample_photo(config: Mapping[str, Any]) -> tuple[np.ndarray, str]:
    """(H,W,3) uint8 photo of the training split to time host costs on, and where it comes from."""
    kind = config["dataset"]["kind"]
    if kind == "generated":
        size = config["dataset"]["generator"]["image_size"]
        shape, where = (size, size), "the generated dataset's size"
    else:
        path = _first_image(kind, Path(config["data_root"] or "."), config["dataset"]) if config["data_root"] else None
        if path is not None and path.is_file():
            try:
                return read_rgb(path), str(path)
            except InputError:
                pass
        shape, where = TYPICAL_SIZE.get(kind, TYPICAL_SIZE["voc"]), f"a typical {kind} photo's size: no photo of the training split found"
    noise = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 3), f"a synthetic {shape[1]}x{shape[0]} image ({where})"
