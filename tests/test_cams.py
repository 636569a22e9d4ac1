"""Eq. 1-3 on hand-computed arrays."""

import math

import numpy as np
import pytest
import torch

from wsss_core.ctlr.cams import class_activation_maps, pcam, scam


def test_eq1_cam_is_fc_weighted_sum_of_feature_channels():
    features = torch.tensor([[[[1.0, 2.0]], [[3.0, -1.0]]]])  # (B=1, K=2, h=1, w=2)
    fc_weight = torch.tensor([[1.0, 0.5], [-2.0, 1.0]])  # (C=2, K=2)
    cam = class_activation_maps(features, fc_weight)
    expected = torch.tensor([[[[1 + 1.5, 2 - 0.5]], [[-2 + 3, -4 - 1]]]])
    torch.testing.assert_close(cam, expected)


def test_eq2_scam_divides_relu_by_spatial_max_per_class():
    cam = torch.tensor([[[2.0, 4.0], [-1.0, 1.0]], [[-3.0, -1.0], [-2.0, -5.0]]])  # (C=2, 2, 2)
    result = scam(cam)
    torch.testing.assert_close(result[0], torch.tensor([[0.5, 1.0], [0.0, 0.25]]))
    # a class that is nowhere positive gives an all-zero map, not NaN
    torch.testing.assert_close(result[1], torch.zeros(2, 2))


def test_eq3_pcam_is_softmax_over_classes_per_pixel():
    cam = torch.tensor([[[0.0, 2.0]], [[0.0, 0.0]], [[math.log(2.0), 0.0]]])  # (C=3, 1, 2)
    result = pcam(cam)
    # pixel 0: exp = (1, 1, 2) -> (0.25, 0.25, 0.5)
    torch.testing.assert_close(result[:, 0, 0], torch.tensor([0.25, 0.25, 0.5]))
    e2 = math.exp(2.0)
    torch.testing.assert_close(result[:, 0, 1], torch.tensor([e2, 1.0, 1.0]) / (e2 + 2.0))
    torch.testing.assert_close(result.sum(0), torch.ones(1, 2))


def test_pcam_covers_more_of_a_weakly_activated_object_than_scam():
    """The phenomenon of Sec. 3.3: a strong peak and a weak body; sCAM keeps only the peak."""
    cam = torch.full((3, 1, 4), -4.0)
    cam[0, 0] = torch.tensor([12.0, 3.0, 3.0, -4.0])  # class 0: peak, weak body, background
    s = scam(cam)[0, 0].numpy()
    p = pcam(cam)[0, 0].numpy()
    assert (s > 0.8).tolist() == [True, False, False, False]
    assert (p > 0.8).tolist() == [True, True, True, False]


@pytest.mark.parametrize("batch_shape", [(), (2,)])
def test_normalisations_accept_batched_and_unbatched_maps(batch_shape):
    cam = torch.randn(*batch_shape, 4, 5, 6)
    assert scam(cam).shape == cam.shape
    assert pcam(cam).shape == cam.shape
    assert np.all(scam(cam).numpy() <= 1.0 + 1e-6)
