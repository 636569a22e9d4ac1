"""The tree a dataset kind needs, checked before anything is read: one line per missing directory or file.

:func:`layout_problems` names what the workflow would look for first in a
``voc``, ``coco``, ``cityscapes``, ``openimages`` or ``folder`` tree (its
root, the directories and list files its ``splits`` name), so that a
mistyped ``data_root`` or a missing download is reported when a run starts
instead of when its first job does. The content (every image, mask and
annotation) is :mod:`wsss_core.data.validation`'s job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from wsss_core.data.openimages import CLASS_DESCRIPTIONS

# The sub-directories index_voc reads: images, ground-truth masks, XML annotations.
VOC_IMAGES, VOC_MASKS = "JPEGImages", "SegmentationClassAug"
# The split of the VOC test images (no public masks; target voc_test), whose id list only that target reads.
VOC_TEST = "test"


def _under(root: Path, path: str | Path) -> Path:
    return Path(path) if Path(path).is_absolute() else root / path


def _voc(root: Path, section: Mapping[str, Any], evaluated: str | None, test: bool) -> Iterator[tuple[Path, str]]:
    yield root / VOC_IMAGES, "image directory"
    for split, id_list in section.get("splits", {}).items():
        if split == VOC_TEST and not test:
            continue
        what = " (target voc_test reads it; the test download has it)" if split == VOC_TEST else ""
        yield _under(root, id_list), f"id list of split {split!r}{what}"
    if evaluated is not None:
        yield root / VOC_MASKS, f"ground-truth mask directory (split {evaluated!r} is evaluated)"


def _image_dir_and_file(root: Path, section: Mapping[str, Any], file_kind: str) -> Iterator[tuple[Path, str]]:
    for split, entry in section.get("splits", {}).items():
        if not isinstance(entry, (list, tuple)) or len(entry) != 2:
            continue  # the schema and index_dataset say what the entry should be
        yield _under(root, entry[0]), f"image directory of split {split!r}"
        yield _under(root, entry[1]), f"{file_kind} of split {split!r}"


def _coco(root: Path, section: Mapping[str, Any], _: str | None, __: bool) -> Iterator[tuple[Path, str]]:
    yield from _image_dir_and_file(root, section, "instances JSON")


def _openimages(root: Path, section: Mapping[str, Any], _: str | None, __: bool) -> Iterator[tuple[Path, str]]:
    yield from _image_dir_and_file(root, section, "box CSV")
    yield _under(root, section.get("class_descriptions", CLASS_DESCRIPTIONS)), "class-description CSV"


def _cityscapes(root: Path, section: Mapping[str, Any], _: str | None, __: bool) -> Iterator[tuple[Path, str]]:
    for split, directory in section.get("splits", {}).items():
        yield root / "leftImg8bit" / str(directory), f"image directory of split {split!r}"
        yield root / "gtFine" / str(directory), f"annotation directory of split {split!r}"


def _folder(root: Path, section: Mapping[str, Any], _: str | None, __: bool) -> Iterator[tuple[Path, str]]:
    yield root / "classes.txt", "class list of the folder dataset"
    yield root / "image_labels.csv", "image labels of the folder dataset"


_REQUIRED = {"voc": _voc, "coco": _coco, "cityscapes": _cityscapes, "openimages": _openimages, "folder": _folder}


def _tree_problems(root: str | Path | None, what: str, tree: str, required: Callable[[Path], Iterable[tuple[Path, str]]]) -> list[str]:
    """The missing parts of a tree: its root (``what``: the config key), else each ``(path, description)`` of ``required(root)``."""
    if root is None:
        return [f"{what}: not set (the {tree} is read from it)"]
    if not Path(root).is_dir():
        return [f"{root}: {what} not found (the {tree})"]
    return [f"{path}: {description} not found" for path, description in required(Path(root)) if not path.exists()]


def layout_problems(
    kind: str,
    data_root: str | Path | None,
    section: Mapping[str, Any],
    *,
    what: str,
    evaluated_split: str | None,
    test: bool = False,
) -> list[str]:
    """The missing parts of a ``kind`` tree at ``data_root``, one ``path: problem`` line each.

    ``section`` is the dataset's config section (``splits``, ``class_descriptions``);
    ``what`` names the config key in messages (``data_root``, ``eval_dataset.data_root``);
    ``evaluated_split`` is the split scored on this dataset (None: none);
    ``test``: whether the VOC test split's list is read (target voc_test). A
    missing root is one line (nothing under it is looked for). The generated
    dataset has no tree to check.
    """
    if kind not in _REQUIRED:
        return []
    return _tree_problems(data_root, what, f"{kind} tree", lambda root: _REQUIRED[kind](root, section, evaluated_split, test))


def objectness_source_problems(kind: str, source_root: str | Path | None, split: str) -> list[str]:
    """The missing parts of the objectness network's source tree (``coco_stuff`` or ``folder``), one line each."""
    if kind == "generated":
        return []

    def required(root: Path) -> list[tuple[Path, str]]:
        if kind == "coco_stuff":
            return [(root / "images" / split, "COCO-Stuff image directory"), (root / "annotations" / split, "COCO-Stuff stuff-thing map directory")]
        return [(root / "images", "source image directory"), (root / "masks", "source mask directory")]

    return _tree_problems(source_root, "objectness.source_root", f"{kind} source", required)
