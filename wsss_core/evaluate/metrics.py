"""Confusion matrices and the scores of Sec. 4.1.2 (IoU, precision, recall, F1)."""

from __future__ import annotations

import numpy as np

from wsss_core.io import IGNORE_LABEL


def confusion_matrix(prediction: np.ndarray, ground_truth: np.ndarray, num_labels: int) -> np.ndarray:
    """Pixel counts ``(N, N+1)``: row = ground-truth label, column = predicted label.

    Ground-truth pixels labelled 255 are not counted. The extra last column
    counts pixels the prediction leaves as 255 (ignored pseudo labels).
    """
    if prediction.shape != ground_truth.shape:
        raise ValueError(f"prediction {prediction.shape} and ground truth {ground_truth.shape} differ in size")
    valid = ground_truth != IGNORE_LABEL
    gt = ground_truth[valid].astype(np.int64)
    pred = prediction[valid].astype(np.int64)
    if gt.size and gt.max() >= num_labels:
        raise ValueError(f"ground-truth label {gt.max()} outside 0..{num_labels - 1}")
    pred = np.where(pred == IGNORE_LABEL, num_labels, pred)
    if pred.size and pred.max() > num_labels:
        raise ValueError(f"predicted label {pred.max()} outside 0..{num_labels - 1} (or 255)")
    counts = np.bincount(gt * (num_labels + 1) + pred, minlength=num_labels * (num_labels + 1))
    return counts.reshape(num_labels, num_labels + 1)


def scores(confusion: np.ndarray) -> dict[str, np.ndarray | float]:
    """Per-class IoU, precision, recall, F1 and their means over the classes that occur.

    Pixels a prediction leaves as 255 are misses of their ground-truth class
    (they lower recall and IoU) but are not false positives of any class.
    A class counts in the means when it occurs in the ground truth or the
    prediction. ``coverage`` is the fraction of pixels the prediction labels.
    """
    num_labels = confusion.shape[0]
    true_positive = np.diag(confusion[:, :num_labels]).astype(np.float64)
    predicted = confusion[:, :num_labels].sum(axis=0).astype(np.float64)
    actual = confusion.sum(axis=1).astype(np.float64)
    false_positive = predicted - true_positive
    false_negative = actual - true_positive
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = true_positive / (true_positive + false_positive + false_negative)
        precision = np.where(predicted > 0, true_positive / predicted, 0.0)
        recall = np.where(actual > 0, true_positive / actual, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    occurs = (predicted + actual) > 0
    total = confusion.sum()
    return {
        "iou": np.where(occurs, iou, np.nan),
        "precision": np.where(occurs, precision, np.nan),
        "recall": np.where(occurs, recall, np.nan),
        "f1": np.where(occurs, f1, np.nan),
        "miou": float(np.nanmean(np.where(occurs, iou, np.nan))) if occurs.any() else float("nan"),
        "mean_precision": float(precision[occurs].mean()) if occurs.any() else float("nan"),
        "mean_recall": float(recall[occurs].mean()) if occurs.any() else float("nan"),
        "mean_f1": float(f1[occurs].mean()) if occurs.any() else float("nan"),
        "coverage": float(1.0 - confusion[:, num_labels].sum() / total) if total else float("nan"),
    }
