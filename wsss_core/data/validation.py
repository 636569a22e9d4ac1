"""The input check every stage waits for: the whole dataset in one pass, every problem listed, one failure.

:func:`check_shard` decodes every image of one shard fully (not only its
header), and every ground-truth mask and precomputed guidance map it has:
each must decode, have its image's size and, for masks, hold only the values
0..C and 255. It writes the shard's problems to a JSON report and never
fails. :func:`finish_validation` adds the problems of the index itself
(:func:`wsss_core.data.index_scan.scan_index`: unknown classes, class names
where indices belong, bad or repeated ids), applies the policy for images
without any label (``exclude``: left out of the training split, with a
warning line; ``error``: a problem), writes ``validation.txt`` (the problems
one per line, then the counts; also when all is well) and raises once if
anything is wrong. Otherwise it writes the validated index, the dataset root
every stage reads: the same classes and labels, and a ``files.csv`` naming
each image and mask (relative paths).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Sequence

import numpy as np

from wsss_core.data.dataset import load_index, write_index_files
from wsss_core.data.index_scan import IndexScan, scan_index
from wsss_core.io import IGNORE_LABEL, InputError, atomic_directory, atomic_path, check_size, read_gray, read_label_map, read_rgb
from wsss_core.parallel import map_images
from wsss_core.sharding import Shard

log = logging.getLogger(__name__)

EMPTY_LABEL_POLICIES = ("exclude", "error")

# one image to check: id, image, mask (or None), whether the mask must exist, guidance map (or None)
Item = tuple[str, Path, "Path | None", bool, "Path | None"]


def _check_mask(path: Path, shape: tuple[int, ...], num_classes: int) -> list[str]:
    labels = read_label_map(path)
    check_size(path, labels.shape, shape, "its image", noun="mask")
    values = np.unique(labels)
    bad = [int(value) for value in values if value > num_classes and value != IGNORE_LABEL]
    if bad:
        return [f"{path}: mask values {bad[:8]} are outside 0..{num_classes} and {IGNORE_LABEL}"]
    return []


def _check_guidance(path: Path, shape: tuple[int, ...], _: int) -> list[str]:
    check_size(path, read_gray(path).shape, shape, "its image")
    return []


def check_item(item: Item, num_classes: int) -> list[str]:
    """The problems (one line each, naming the file) of one image, its mask and its guidance map."""
    image_id, image, mask, mask_required, guidance = item
    if not image.is_file():
        return [f"{image}: image of {image_id!r} not found"]
    try:
        shape = read_rgb(image).shape[:2]
    except InputError as err:
        return [str(err)]
    problems, checks = [], []
    if mask is not None and mask.is_file():
        checks.append((_check_mask, mask))
    elif mask_required:
        problems.append(f"{mask or 'files.csv'}: ground-truth mask of {image_id!r} not found (its split is evaluated)")
    if guidance is not None and guidance.is_file():
        checks.append((_check_guidance, guidance))
    elif guidance is not None:
        problems.append(f"{guidance}: guidance (saliency) map of {image_id!r} not found")
    for check, path in checks:
        try:
            problems.extend(check(path, shape, num_classes))
        except InputError as err:
            problems.append(str(err))
    return problems


def _items(scan: IndexScan, ids: Sequence[str], eval_split: str | None, train_split: str, guidance_dir: Path | None) -> list[Item]:
    split_of = {image_id: split for image_id, split, _ in scan.rows}
    return [
        (
            image_id,
            scan.image_path(image_id) or scan.root / "images" / f"{image_id}.(png|jpg|jpeg)",
            scan.mask_path(image_id),
            split_of[image_id] == eval_split,
            guidance_dir / f"{image_id}.png" if guidance_dir is not None and split_of[image_id] == train_split else None,
        )
        for image_id in ids
    ]


class _Task:
    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes

    def __call__(self, item: Item) -> list[str]:
        return check_item(item, self.num_classes)


def check_shard(
    dataset_root: str | Path,
    output_report: str | Path,
    *,
    train_split: str,
    eval_split: str | None,
    guidance_dir: str | Path | None = None,
    shard: Shard,
    workers: int = 1,
) -> None:
    """Check the images of every split in ``shard``; write ``{"images": n, "problems": [...]}`` to ``output_report``.

    Masks must exist for the images of ``eval_split`` (None: of no split); with ``guidance_dir``
    (precomputed guidance) every image of ``train_split`` needs ``<id>.png`` there.
    """
    scan = scan_index(dataset_root)
    ids = shard.select([image_id for image_id, _, _ in scan.rows])
    log.info("checking %d images of %s (shard %s), decoding each fully", len(ids), dataset_root, shard.name)
    items = _items(scan, ids, eval_split, train_split, None if guidance_dir is None else Path(guidance_dir))
    results = map_images(_Task(len(scan.class_names)), items, workers=workers, total=len(items), desc=f"validate {shard.name}")
    problems = [line for lines in results for line in lines]
    with atomic_path(output_report) as tmp:
        tmp.write_text(json.dumps({"images": len(ids), "problems": problems}, indent=1))
    log.info("shard %s: %d images, %d problems", shard.name, len(ids), len(problems))


def _empty_labels(scan: IndexScan, train_split: str, policy: str) -> tuple[set[str], list[str], list[str]]:
    """(ids left out of training, warnings, problems) of the training images without any label."""
    if policy not in EMPTY_LABEL_POLICIES:
        raise ValueError(f"dataset.empty_labels must be one of {EMPTY_LABEL_POLICIES}, got {policy!r}")
    empty = [
        image_id
        for image_id, split, labels in scan.rows
        if split == train_split and not labels and image_id not in scan.bad_labels
    ]
    lines = [f"{scan.labels_file}: image {image_id!r} of split {train_split!r} has no class label" for image_id in empty]
    if policy == "error":
        return set(), [], [f"{line} (dataset.empty_labels: error)" for line in lines]
    return set(empty), [f"warning: {line}; left out of training (dataset.empty_labels: exclude)" for line in lines], []


def _write_validated_index(scan: IndexScan, excluded: set[str], train_split: str, output_dir: Path) -> None:
    def relative(path: Path | None) -> Path | None:  # files.csv paths are relative to its directory
        return None if path is None or not path.is_file() else Path(os.path.relpath(path.resolve(), output_dir.resolve()))

    rows = [
        (image_id, split, labels, relative(scan.image_path(image_id)), relative(scan.mask_path(image_id)))
        for image_id, split, labels in scan.rows
        if not (split == train_split and image_id in excluded)
    ]
    with atomic_directory(output_dir) as tmp:
        write_index_files(tmp, scan.class_names, rows)
        if (scan.root / "boxes.csv").is_file():
            shutil.copyfile(scan.root / "boxes.csv", tmp / "boxes.csv")


def _class_mismatch(scan: IndexScan, training_index: Path) -> list[str]:
    """One problem line when the classes of ``scan`` are not those of the training index, in order."""
    trained = tuple(load_index(training_index).class_names)
    if tuple(scan.class_names) == trained:
        return []
    return [
        (
            f"{scan.root / 'classes.txt'}: classes {list(scan.class_names)} differ from those the models are trained on "
            f"({training_index / 'classes.txt'}: {list(trained)})"
        )
    ]


def finish_validation(
    dataset_root: str | Path,
    shard_reports: Sequence[str | Path],
    report: str | Path,
    output_index: str | Path,
    *,
    train_split: str,
    eval_split: str | None,
    empty_labels: str = "exclude",
    same_classes_as: str | Path | None = None,
) -> None:
    """Join the shard reports and the index's own problems into ``report``; fail once, or write ``output_index``.

    ``eval_split`` None: no split of this dataset is evaluated (the models are
    scored on another one). ``same_classes_as``: the index of the dataset the
    models are trained on; classes that differ from its ``classes.txt`` (names
    or order) are a problem, as predictions would be scored against other classes.
    Raises :class:`InputError` (after ``report`` is written) when any problem was found.
    """
    scan = scan_index(dataset_root)
    problems = list(scan.problems)
    splits = scan.split_ids()
    for split in dict.fromkeys(split for split in (train_split, eval_split) if split is not None):
        if not splits.get(split) and scan.class_names:
            problems.append(f"{scan.labels_file}: no image in split {split!r} (splits present: {sorted(splits)})")
    if same_classes_as is not None:
        problems += _class_mismatch(scan, Path(same_classes_as))
    excluded, warnings, empty_problems = _empty_labels(scan, train_split, empty_labels)
    problems += empty_problems
    checked = 0
    for part in shard_reports:
        content = json.loads(Path(part).read_text())
        checked += content["images"]
        problems += content["problems"]
    counts = ", ".join(f"{split}: {len(ids)}" for split, ids in splits.items())
    summary = (
        f"{scan.root}: {len(scan.class_names)} classes, {checked} images checked ({counts}); "
        f"{len(excluded)} left out of training; {len(problems)} problem(s), {len(warnings)} warning(s)"
    )
    with atomic_path(report) as tmp:
        tmp.write_text("".join(f"{line}\n" for line in [*problems, *warnings, summary]))
    for line in warnings:
        log.warning("%s", line)
    if problems:
        for line in problems:
            log.error("%s", line)
        raise InputError(f"{scan.root}: {len(problems)} problem(s) in the dataset, listed one per line in {report}")
    log.info("%s", summary)
    _write_validated_index(scan, excluded, train_split, Path(output_index))
