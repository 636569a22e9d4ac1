"""Rules evaluate_*: score directories of label PNGs against the ground truth and write the metric tables."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from wsss_core.data.dataset import DatasetIndex, load_index
from wsss_core.evaluate.metrics import confusion_matrix, scores
from wsss_core.io import InputError, atomic_path, binarize_label_map, read_gray, read_label_map, read_sized
from wsss_core.logs import progress

log = logging.getLogger(__name__)


def read_ground_truth(index: DatasetIndex, image_id: str) -> np.ndarray:
    """The ground-truth label map of ``image_id``; an :class:`InputError` naming the file where it is missing."""
    gt_path = index.mask_path(image_id)
    if not gt_path.is_file():
        raise InputError(f"{gt_path}: ground-truth mask of {image_id!r} not found (evaluation needs masks)")
    return read_label_map(gt_path)


def accumulate_confusion(
    index: DatasetIndex,
    ids: Sequence[str],
    label_dir: Path,
    *,
    fg_threshold: float | None = None,
) -> np.ndarray:
    """Sum the confusion matrices of ``label_dir/<id>.png`` against the ground truth.

    With ``fg_threshold`` the maps are 0-255 class-agnostic maps, object where
    ``value / 255 > fg_threshold``, and the ground truth is reduced to
    background (0) / object (1).
    """
    binary = fg_threshold is not None
    num_labels = 2 if binary else index.num_classes + 1
    confusion = np.zeros((num_labels, num_labels + 1), dtype=np.int64)
    for image_id in progress(ids, total=len(ids), desc=f"score {label_dir.name}"):
        ground_truth = read_ground_truth(index, image_id)
        if binary:
            values = read_sized(label_dir / f"{image_id}.png", ground_truth.shape, read_gray, "ground truth")
            prediction = (values.astype(np.float32) / 255.0 > fg_threshold).astype(np.uint8)
            ground_truth = binarize_label_map(ground_truth)
        else:
            prediction = read_sized(label_dir / f"{image_id}.png", ground_truth.shape, read_label_map, "ground truth")
        confusion += confusion_matrix(prediction, ground_truth, num_labels)
    return confusion


def write_table(table: pd.DataFrame, output_csv: str | Path) -> None:
    """Write ``table`` atomically as CSV (two decimals) and log it."""
    with atomic_path(output_csv) as tmp:
        table.to_csv(tmp, index=False, float_format="%.2f")
    log.info("wrote %s\n%s", output_csv, table.to_string(index=False))


def summary_row(name: str, confusion: np.ndarray, label_names: Sequence[str]) -> dict[str, object]:
    """Scores of one label directory under both conventions, each label's IoU, and the labels the means run over.

    ``mIoU`` / ``F1`` count pixels a pseudo label ignores (255) as misses of
    their class; ``mIoU_labelled`` / ``F1_labelled`` score only the pixels it
    labels (the convention of label-quality tables that report coverage
    beside the score). One column per label of ``label_names`` holds its IoU
    (the ``mIoU`` convention; empty where the label occurs in neither map).
    """
    result = scores(confusion)
    labelled = confusion.copy()
    labelled[:, -1] = 0
    labelled_result = scores(labelled)
    return {
        "labels": name,
        "mIoU": 100 * result["miou"],
        "precision": 100 * result["mean_precision"],
        "recall": 100 * result["mean_recall"],
        "F1": 100 * result["mean_f1"],
        "coverage": 100 * result["coverage"],
        "mIoU_labelled": 100 * labelled_result["miou"],
        "F1_labelled": 100 * labelled_result["mean_f1"],
        **{label: 100 * iou for label, iou in zip(label_names, result["iou"])},
        "mean_over": " ".join(label for label, iou in zip(label_names, result["iou"]) if not np.isnan(iou)),
    }


def evaluate_pseudo_labels(
    dataset_root: str | Path,
    split: str,
    label_dirs: Mapping[str, str | Path],
    output_csv: str | Path,
    *,
    fg_threshold: float | None = None,
    thresholds: Mapping[str, float] | None = None,
    extra_rows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per label directory: mIoU, mean precision, recall, F1 and coverage, in %.

    Means run over background and the object classes that occur (listed in
    ``mean_over``; with ``fg_threshold``, over background and object of
    class-agnostic maps). Pixels a pseudo label ignores (255) count as misses,
    not as false positives; ``coverage`` is the labelled fraction, and
    ``mIoU_labelled`` / ``F1_labelled`` score the labelled pixels alone.
    ``thresholds`` (row name -> the CAM threshold that made the labels) adds
    a ``threshold`` column; ``extra_rows`` (same columns, scored elsewhere)
    are appended.
    """
    index = load_index(dataset_root)
    ids = index.ids(split)
    label_names = ("background", "object") if fg_threshold is not None else ("background", *index.class_names)
    rows = [
        summary_row(name, accumulate_confusion(index, ids, Path(path), fg_threshold=fg_threshold), label_names)
        for name, path in label_dirs.items()
    ]
    table = pd.DataFrame(rows)
    if thresholds is not None:
        table.insert(1, "threshold", table["labels"].map(thresholds))
    if extra_rows is not None:
        table = pd.concat([table, extra_rows[table.columns]], ignore_index=True)
    write_table(table, output_csv)
    return table


def evaluate_segmentation(
    dataset_root: str | Path,
    split: str,
    prediction_dirs: Mapping[str, Mapping[str, str | Path]],
    output_csv: str | Path,
) -> pd.DataFrame:
    """Per-class IoU and mIoU (in %) of each ``prediction_dirs[model][postprocessing]`` directory."""
    index = load_index(dataset_root)
    ids = index.ids(split)
    class_names = ("background", *index.class_names)
    rows = []
    for model, dirs in prediction_dirs.items():
        for variant, path in dirs.items():
            result = scores(accumulate_confusion(index, ids, Path(path)))
            row: dict[str, object] = {"model": model, "postprocessing": variant}
            row.update({name: 100 * value for name, value in zip(class_names, result["iou"])})
            row["mIoU"] = 100 * result["miou"]
            rows.append(row)
    table = pd.DataFrame(rows)
    write_table(table, output_csv)
    return table


def model_rows(csv_path: str | Path, model: str) -> pd.DataFrame:
    """The rows of ``model`` in an evaluation table (:func:`evaluate_segmentation`); none is an error naming the file."""
    table = pd.read_csv(csv_path)
    table = table[table["model"] == model]
    if table.empty:
        raise InputError(f"{csv_path}: no rows of model {model!r}")
    return table


def compare_supervision(
    weak_csv: str | Path,
    full_csv: str | Path,
    output_csv: str | Path,
    *,
    weak_model: str = "retrain",
    full_model: str = "supervised",
) -> pd.DataFrame:
    """mIoU of the weakly supervised model next to the fully supervised one, and weak / full, per post-processing.

    The rows of ``weak_model`` in ``weak_csv`` and of ``full_model`` in
    ``full_csv`` (one file may hold both); e.g. Table 4 (SONet on G^B vs. full).
    """
    weak = model_rows(weak_csv, weak_model)
    full = model_rows(full_csv, full_model)
    table = weak[["postprocessing", "mIoU"]].merge(
        full[["postprocessing", "mIoU"]], on="postprocessing", suffixes=("_weak", "_full")
    )
    table["weak_over_full"] = table["mIoU_weak"] / table["mIoU_full"]
    write_table(table, output_csv)
    return table
