"""Cross-task label refinement (Eq. 4-7) on hand-made arrays."""

import numpy as np

from wsss_core.crf import CrfParams
from wsss_core.ctlr.ca_labels import class_agnostic_labels
from wsss_core.ctlr.refine import binarize_segmentation, refine_image_labels, suppress_by_image_labels

# no pairwise terms: the CRF returns the unary's own argmax, so the equations can be checked by hand
UNARY_ONLY = CrfParams(iterations=1, gaussian_compat=0.0, bilateral_compat=0.0)

# Pr_seg over background + 3 classes for a 1x4 image
SEG_PROBS = np.array(
    [
        [[0.6, 0.2, 0.3, 0.1]],  # background
        [[0.3, 0.7, 0.1, 0.2]],  # class 1 (absent)
        [[0.1, 0.1, 0.5, 0.3]],  # class 2 (present)
        [[0.0, 0.0, 0.1, 0.4]],  # class 3 (absent)
    ]
)


def test_supp_zeroes_absent_classes_and_keeps_background():
    suppressed = suppress_by_image_labels(SEG_PROBS, [2])
    np.testing.assert_array_equal(suppressed[0], SEG_PROBS[0])
    np.testing.assert_array_equal(suppressed[2], SEG_PROBS[2])
    assert not suppressed[1].any() and not suppressed[3].any()


def test_eq6_eq7_binarisation_after_suppression():
    # argmax after Supp: [bg, bg (0.2 vs 0.1), class 2, class 2 (0.3 vs 0.1)] -> [0, 0, 1, 1]
    np.testing.assert_array_equal(binarize_segmentation(SEG_PROBS, [2]), [[0, 0, 1, 1]])
    # without suppression pixel 1 would have gone to the absent class 1
    assert SEG_PROBS[:, 0, 1].argmax() == 1


def test_eq4_eq5_average_of_prediction_and_prior():
    image = np.zeros((1, 4, 3), dtype=np.uint8)
    ca_prob = np.array([[0.9, 0.2, 0.4, 0.7]])
    prior = np.array([[0.0, 1.0, 1.0, 0.0]])
    # (Pr_ca + prior)/2 = [0.45, 0.6, 0.7, 0.35]
    np.testing.assert_array_equal(class_agnostic_labels(image, ca_prob, prior, UNARY_ONLY), [[0, 1, 1, 0]])


def test_ctlr_refines_both_label_maps():
    image = np.zeros((1, 4, 3), dtype=np.uint8)
    ca_prob = np.array([[0.3, 0.8, 0.6, 0.9]])
    pcam = np.array([[[0.95, 0.9, 0.85, 0.5]]])  # the single present class 2
    ca_ref, seg_ref = refine_image_labels(
        image, SEG_PROBS, ca_prob, pcam, [2], crf=UNARY_ONLY, pcam_fg_threshold=0.8
    )
    # Br_s = [0, 0, 1, 1]; (Pr_ca + Br_s)/2 = [0.15, 0.4, 0.8, 0.95] -> G_ca^ref = [0, 0, 1, 1]
    np.testing.assert_array_equal(ca_ref, [[0, 0, 1, 1]])
    # pCAM > 0.8 = [1, 1, 1, 0]; with G_ca^ref: conflict, conflict, class 2, conflict
    np.testing.assert_array_equal(seg_ref, [[255, 255, 2, 255]])
