"""The initial-label fusion rule of Sec. 3.4.1 on hand-made arrays, and the best rows of its threshold sweep."""

import numpy as np
import pandas as pd
import pytest

from wsss_core.ctlr.initial_labels import fuse_initial_labels
from wsss_core.ctlr.thresholds import best_threshold_rows


def test_fusion_rule_overlap_conflict_background():
    # two present classes (3 and 5), a 2x4 image
    cam = np.array(
        [
            [[0.9, 0.1, 0.85, 0.1], [0.1, 0.1, 0.1, 0.1]],  # class 3
            [[0.05, 0.95, 0.1, 0.1], [0.1, 0.9, 0.1, 0.1]],  # class 5
        ]
    )
    saliency = np.array([[0.9, 0.6, 0.2, 0.7], [0.1, 0.4, 0.2, 0.1]])
    labels = fuse_initial_labels(cam, [3, 5], saliency, cam_fg_threshold=0.8, fg_threshold=0.5)
    expected = np.array(
        [
            [3, 5, 255, 255],  # overlap -> argmax class; cam-only -> 255; saliency-only -> 255
            [0, 255, 0, 0],  # neither -> background; cam fg but saliency bg -> 255
        ],
        dtype=np.uint8,
    )
    np.testing.assert_array_equal(labels, expected)


def test_overlap_takes_the_most_probable_present_class():
    cam = np.array([[[0.82]], [[0.91]], [[0.85]]])
    labels = fuse_initial_labels(cam, [1, 2, 4], np.array([[1.0]]), cam_fg_threshold=0.8, fg_threshold=0.5)
    assert labels[0, 0] == 2


def test_thresholds_are_strict_and_configurable():
    cam = np.array([[[0.8, 0.6]]])
    saliency = np.array([[0.9, 0.9]])
    strict = fuse_initial_labels(cam, [1], saliency, cam_fg_threshold=0.8, fg_threshold=0.5)
    np.testing.assert_array_equal(strict, [[255, 255]])
    loose = fuse_initial_labels(cam, [1], saliency, cam_fg_threshold=0.5, fg_threshold=0.5)
    np.testing.assert_array_equal(loose, [[1, 1]])


def test_image_without_classes_is_background_or_ignored_where_salient():
    labels = fuse_initial_labels(
        np.zeros((0, 1, 2)), [], np.array([[0.2, 0.7]]), cam_fg_threshold=0.8, fg_threshold=0.5
    )
    np.testing.assert_array_equal(labels, [[0, 255]])


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differs"):
        fuse_initial_labels(np.zeros((1, 2, 2)), [1], np.zeros((3, 3)), cam_fg_threshold=0.8, fg_threshold=0.5)


def test_best_threshold_rows_take_each_cams_highest_miou_and_the_lower_threshold_on_a_tie(tmp_path):
    sweep = pd.DataFrame(
        {"CAM": ["sCAM"] * 3 + ["pCAM"] * 3, "threshold": [0.1, 0.2, 0.3, 0.4, 0.6, 0.8],
         "labels": ["sCAM-initial"] * 3 + ["pCAM-initial"] * 3, "mIoU": [30.0, 31.5, 31.5, 20.0, 25.0, 24.0]}
    )  # fmt: skip
    sweep.to_csv(tmp_path / "sweep.csv", index=False)
    best = best_threshold_rows(tmp_path / "sweep.csv")
    assert best["labels"].tolist() == ["sCAM-initial (best threshold)", "pCAM-initial (best threshold)"]
    assert best["threshold"].tolist() == [0.2, 0.6] and best["mIoU"].tolist() == [31.5, 25.0]
