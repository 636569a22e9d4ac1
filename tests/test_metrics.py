"""Confusion matrix and scores on hand-computed arrays."""

import numpy as np
import pytest

from wsss_core.evaluate.metrics import confusion_matrix, scores


def test_confusion_counts_rows_gt_columns_pred_and_ignores():
    gt = np.array([[0, 0, 1, 1], [2, 2, 255, 1]])
    pred = np.array([[0, 1, 1, 255], [2, 0, 1, 1]])
    cm = confusion_matrix(pred, gt, 3)
    expected = np.array(
        [
            [1, 1, 0, 0],  # gt 0: one right, one predicted 1
            [0, 2, 0, 1],  # gt 1: two right, one left as 255 (last column)
            [1, 0, 1, 0],  # gt 2: one right, one predicted 0
        ]
    )
    np.testing.assert_array_equal(cm, expected)


def test_scores_by_hand():
    cm = np.array([[1, 1, 0, 0], [0, 2, 0, 1], [1, 0, 1, 0]])
    result = scores(cm)
    # class 0: TP1 FP1 FN1 -> IoU 1/3, P 1/2, R 1/2
    # class 1: TP2 FP1 FN1 (the ignored pixel) -> IoU 2/4, P 2/3, R 2/3
    # class 2: TP1 FP0 FN1 -> IoU 1/2, P 1, R 1/2
    np.testing.assert_allclose(result["iou"], [1 / 3, 0.5, 0.5])
    np.testing.assert_allclose(result["precision"], [0.5, 2 / 3, 1.0])
    np.testing.assert_allclose(result["recall"], [0.5, 2 / 3, 0.5])
    f1 = [0.5, 2 / 3, 2 * 0.5 / 1.5]
    np.testing.assert_allclose(result["f1"], f1)
    assert result["miou"] == pytest.approx((1 / 3 + 0.5 + 0.5) / 3)
    assert result["mean_f1"] == pytest.approx(np.mean(f1))
    assert result["coverage"] == pytest.approx(6 / 7)


def test_absent_class_is_left_out_of_the_mean():
    gt = np.array([[0, 1]])
    cm = confusion_matrix(gt.copy(), gt, 4)
    result = scores(cm)
    assert np.isnan(result["iou"][2]) and np.isnan(result["iou"][3])
    assert result["miou"] == 1.0


def test_out_of_range_labels_are_errors():
    with pytest.raises(ValueError, match="ground-truth label"):
        confusion_matrix(np.zeros((1, 1)), np.full((1, 1), 5), 3)
    with pytest.raises(ValueError, match="predicted label"):
        confusion_matrix(np.full((1, 1), 7), np.zeros((1, 1)), 3)
