"""The pixel and image losses every training stage builds on (CTLR Eq. 9-11, SONet Eq. 5), 255 ignored."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from wsss_core.io import IGNORE_LABEL


def _resize_to(logits: Tensor, target: Tensor) -> Tensor:
    if logits.shape[-2:] == target.shape[-2:]:
        return logits
    return F.interpolate(logits, size=target.shape[-2:], mode="bilinear", align_corners=False)


def classification_loss(cls_logits: Tensor, image_labels: Tensor) -> Tensor:
    """Eq. 9: multi-label soft margin loss between Pr_cls (B,C) and multi-hot G_cls (B,C)."""
    return F.multilabel_soft_margin_loss(cls_logits, image_labels)


def class_agnostic_loss(ca_logits: Tensor, ca_labels: Tensor) -> Tensor:
    """Eq. 10: binary cross-entropy between sigmoid(ca_logits) (B,1,h,w) and G_ca (B,H,W) in [0,1] (0/1, or soft).

    Pixels labelled 255 (crop padding) are left out; the mean is over the
    remaining pixels.
    """
    logits = _resize_to(ca_logits, ca_labels)[:, 0]
    valid = ca_labels != IGNORE_LABEL
    if not valid.any():
        return logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(logits[valid], ca_labels[valid].float())


def segmentation_loss(seg_logits: Tensor, seg_labels: Tensor) -> Tensor:
    """Eq. 11: pixel-wise cross-entropy of softmax(seg_logits) (B,C+1,h,w) against G_seg (B,H,W).

    Pixels labelled 255 (conflicts of the pseudo label, padding) are ignored.
    """
    logits = _resize_to(seg_logits, seg_labels)
    if not (seg_labels != IGNORE_LABEL).any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits, seg_labels.long(), ignore_index=IGNORE_LABEL)
