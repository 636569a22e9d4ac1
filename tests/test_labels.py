"""The initial-label fusion rule of Sec. 3.4.1 on hand-made arrays."""

import numpy as np
import pytest

from wsss_core.ctlr.initial_labels import fuse_initial_labels


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
