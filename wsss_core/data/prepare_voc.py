"""PASCAL VOC 2012 + SBD -> the tree the ``voc`` dataset reads: ``SegmentationClassAug/`` and ``train_aug.txt``.

Inputs, as the two downloads extract:

* ``VOCdevkit/VOC2012``: ``JPEGImages/<id>.jpg``, ``SegmentationClass/<id>.png``
  (palette PNGs, 255 on object borders) and ``ImageSets/Segmentation/{train,val}.txt``
  (1,464 and 1,449 ids);
* SBD's ``benchmark_RELEASE``: ``dataset/cls/<id>.mat`` (a MATLAB struct
  ``GTcls`` whose ``Segmentation`` field is the class map, 0 background, 1..20)
  and ``dataset/{train,val}.txt`` (8,498 and 2,857 ids).

Output, into the VOC2012 directory: ``SegmentationClassAug/<id>.png`` (palette
PNGs) for every id of ``train_aug`` and ``val`` (VOC's own mask where VOC has
one, else SBD's, read with ``scipy.io.loadmat``), and
``ImageSets/Segmentation/train_aug.txt``: SBD train + SBD val + VOC train,
minus VOC val, sorted (10,582 ids from the full downloads). Every listed id
must have an image and a mask; from the full downloads the counts must be
10,582 and 1,449. Each problem is one line, all reported together, and
nothing is written when there is one. Outputs are written atomically.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.io import loadmat

from wsss_core.data.voc import read_id_list
from wsss_core.io import InputError, atomic_directory, atomic_path, write_label_map
from wsss_core.parallel import map_images

log = logging.getLogger(__name__)

# the sizes of the official lists, and what they give
OFFICIAL_LISTS = {"sbd_train": 8498, "sbd_val": 2857, "voc_train": 1464, "voc_val": 1449}
TRAIN_AUG_SIZE = 10582
MASKS, TRAIN_AUG = "SegmentationClassAug", "ImageSets/Segmentation/train_aug.txt"
NUM_VOC_CLASSES = 20


@dataclass(frozen=True)
class PreparedVoc:
    """What :func:`prepare_voc` wrote: the two splits' sizes and where each mask came from."""

    train_aug: int
    val: int
    from_voc: int
    from_sbd: int


def read_sbd_mask(path: Path) -> np.ndarray:
    """The class map (H, W) uint8 of an SBD ``cls/<id>.mat`` file (``GTcls.Segmentation``)."""
    try:
        struct = loadmat(path, squeeze_me=True, struct_as_record=False)["GTcls"]
        mask = np.asarray(struct.Segmentation)
    except Exception as err:  # scipy raises several types for foreign or truncated files
        raise InputError(f"{path}: not an SBD class file with GTcls.Segmentation ({err})") from err
    if mask.ndim != 2 or mask.size == 0 or mask.min() < 0 or mask.max() > NUM_VOC_CLASSES:
        raise InputError(f"{path}: GTcls.Segmentation is not a 2-D map of 0..{NUM_VOC_CLASSES} (shape {mask.shape})")
    return mask.astype(np.uint8)


class _WriteMask:
    """Write the mask of one id into a directory: VOC's PNG copied, or SBD's .mat converted."""

    def __init__(self, voc_masks: Path, sbd_masks: Path, output: Path) -> None:
        self.voc_masks, self.sbd_masks, self.output = voc_masks, sbd_masks, output

    def __call__(self, item: tuple[str, str]) -> None:
        image_id, source = item
        if source == "voc":
            shutil.copyfile(self.voc_masks / f"{image_id}.png", self.output / f"{image_id}.png")
        else:
            write_label_map(self.output / f"{image_id}.png", read_sbd_mask(self.sbd_masks / f"{image_id}.mat"))


def _lists(voc_root: Path, sbd_root: Path) -> tuple[dict[str, list[str]], list[str]]:
    """The four id lists (the missing ones as problem lines)."""
    paths = {
        "sbd_train": sbd_root / "dataset" / "train.txt",
        "sbd_val": sbd_root / "dataset" / "val.txt",
        "voc_train": voc_root / "ImageSets" / "Segmentation" / "train.txt",
        "voc_val": voc_root / "ImageSets" / "Segmentation" / "val.txt",
    }
    lists, problems = {}, []
    for name, path in paths.items():
        try:
            lists[name] = read_id_list(path)
        except InputError as err:
            problems.append(str(err))
    return lists, problems


def prepare_voc(voc_root: str | Path, sbd_root: str | Path, *, workers: int = 1) -> PreparedVoc:
    """Write ``SegmentationClassAug/`` and ``train_aug.txt`` into ``voc_root`` from VOC's and SBD's masks (module docstring).

    Raises an :class:`InputError` listing every problem of the two trees (one
    line each) before anything is written.
    """
    voc_root, sbd_root = Path(voc_root), Path(sbd_root)
    problems = [f"{root}: {what} not found" for root, what in ((voc_root, "VOC2012 directory"), (sbd_root, "SBD benchmark_RELEASE directory")) if not root.is_dir()]
    if problems:
        raise InputError("\n".join(problems))
    lists, problems = _lists(voc_root, sbd_root)
    if problems:
        raise InputError("\n".join(problems))
    val = lists["voc_val"]
    train_aug = sorted((set(lists["sbd_train"]) | set(lists["sbd_val"]) | set(lists["voc_train"])) - set(val))
    voc_masks, sbd_masks = voc_root / "SegmentationClass", sbd_root / "dataset" / "cls"
    sources: dict[str, str] = {}
    for image_id in [*train_aug, *val]:
        if not (voc_root / "JPEGImages" / f"{image_id}.jpg").is_file():
            problems.append(f"{voc_root / 'JPEGImages' / image_id}.jpg: image of {image_id!r} not found")
        if (voc_masks / f"{image_id}.png").is_file():
            sources[image_id] = "voc"
        elif (sbd_masks / f"{image_id}.mat").is_file():
            sources[image_id] = "sbd"
        else:
            problems.append(f"{sbd_masks / image_id}.mat: mask of {image_id!r} not found (nor {voc_masks / image_id}.png)")
    official = all(len(lists[name]) == size for name, size in OFFICIAL_LISTS.items())
    if official and (len(train_aug), len(val)) != (TRAIN_AUG_SIZE, OFFICIAL_LISTS["voc_val"]):
        problems.append(f"{voc_root}: train_aug / val have {len(train_aug)} / {len(val)} ids, the full downloads give {TRAIN_AUG_SIZE} / 1449")
    if problems:
        raise InputError("\n".join(problems))
    if (voc_root / MASKS).exists():
        raise InputError(f"{voc_root / MASKS}: exists already; remove it to prepare it again")
    with atomic_directory(voc_root / MASKS) as output:
        map_images(_WriteMask(voc_masks, sbd_masks, output), list(sources.items()), workers=workers, total=len(sources), desc="SegmentationClassAug")
    with atomic_path(voc_root / TRAIN_AUG) as tmp:
        tmp.write_text("".join(f"{image_id}\n" for image_id in train_aug))
    from_voc = sum(source == "voc" for source in sources.values())
    result = PreparedVoc(len(train_aug), len(val), from_voc, len(sources) - from_voc)
    log.info("%s: train_aug %d ids, val %d; masks from VOC %d, from SBD %d", voc_root, *vars(result).values())
    if not official:
        log.warning("the id lists are not the full downloads' (%s): train_aug / val are not the paper's 10,582 / 1,449", {n: len(v) for n, v in lists.items()})
    return result
