"""The objectness network phi_P of SONet (Sec. 2.1): torchvision DeepLabv3 with one output channel."""

from __future__ import annotations

import os
from typing import Any

from torch import Tensor
from torchvision.models.segmentation.deeplabv3 import DeepLabV3

from wsss_core.models.deeplab import DEEPLAB_ARCHS, build_deeplabv3, load_backbone_weights

OBJECTNESS_ARCHS = DEEPLAB_ARCHS


class ObjectnessNet(DeepLabV3):
    """torchvision DeepLabv3 with one output channel; ``forward`` returns the (B,1,H,W) logits.

    The state dict keys are torchvision's (``backbone.*``, ``classifier.*``).
    """

    model_config: dict[str, Any]

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        return super().forward(x)["out"]


def build_objectness_net(
    arch: str = "deeplabv3_mobilenet_v3_large", backbone_weights: str | os.PathLike | None = None
) -> ObjectnessNet:
    """DeepLabv3 phi_P with one output channel (torchvision, randomly initialised, nothing downloaded).

    ``arch`` is one of :data:`OBJECTNESS_ARCHS`. ``backbone_weights`` is an
    optional local file loaded into ``.backbone`` (see
    :func:`wsss_core.models.deeplab.load_backbone_weights` for the accepted key
    layouts), e.g. torchvision's ImageNet ``resnet50-11ad3fa6.pth`` or
    ``mobilenet_v3_large-5c1a4163.pth``.
    """
    reference = build_deeplabv3(arch, num_outputs=1)
    model = ObjectnessNet(reference.backbone, reference.classifier, None)
    if backbone_weights is not None:
        load_backbone_weights(model.backbone, backbone_weights, arch)
    model.model_config = {
        "kind": "objectness",
        "arch": arch,
        "num_outputs": 1,
        "backbone_weights": None if backbone_weights is None else os.fspath(backbone_weights),
    }
    return model
