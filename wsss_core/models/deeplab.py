"""torchvision DeepLabv3 networks, built without downloads, and local backbone weights for them.

Used by the objectness network (SONet paper, Sec. 2.1) and by SONet's
segmentation network (Sec. 2.2).
"""

from __future__ import annotations

import os

import torch
from torch import nn
from torchvision.models import resnet as tv_resnet
from torchvision.models import segmentation
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.models.segmentation.deeplabv3 import DeepLabHead, DeepLabV3

from wsss_core.models.weights import StateDict, load_weights, weights_problem

DEEPLAB_ARCHS = ("deeplabv3_mobilenet_v3_large", "deeplabv3_resnet50", "deeplabv3_resnet101")
OUTPUT_STRIDES = (None, 8, 16)
ASPP_RATES_OS16 = (6, 12, 18)
BATCH_NORM_MOMENTUM = 0.1
# Keys of torchvision's ImageNet classifiers that do not belong to the backbone.
_HEAD_PREFIXES = ("fc.", "classifier.")


def build_deeplabv3(arch: str, num_outputs: int, output_stride: int | None = None) -> segmentation.DeepLabV3:
    """torchvision DeepLabv3 ``arch`` with ``num_outputs`` channels, random weights, no auxiliary head.

    ``output_stride`` None keeps torchvision's network (ResNets at output
    stride 8, MobileNetV3 at 16, ASPP rates 12 / 24 / 36). 16 or 8 follows
    the DeepLabv3 paper (Chen et al. 2017, Sec. 4.1): ASPP rates 6 / 12 / 18 at
    16 and twice them at 8; a ResNet then dilates layer4 only (16) or layer3
    and layer4 (8); MobileNetV3 exists at 16 only.
    """
    if arch not in DEEPLAB_ARCHS:
        raise ValueError(f"unknown DeepLabv3 architecture {arch!r}; available: {DEEPLAB_ARCHS}")
    if output_stride not in OUTPUT_STRIDES:
        raise ValueError(f"DeepLabv3 output_stride must be one of {OUTPUT_STRIDES}, not {output_stride!r}")
    if output_stride == 8 and arch == "deeplabv3_mobilenet_v3_large":
        raise ValueError(f"{arch} has output stride 16 only (torchvision's MobileNetV3 dilates its last stage alone)")
    if output_stride is None or arch == "deeplabv3_mobilenet_v3_large":
        builder = getattr(segmentation, arch)
        model = builder(weights=None, weights_backbone=None, num_classes=num_outputs, aux_loss=False)
    else:
        resnet = getattr(tv_resnet, arch.removeprefix("deeplabv3_"))(weights=None, replace_stride_with_dilation=[False, output_stride == 8, True])
        model = DeepLabV3(IntermediateLayerGetter(resnet, return_layers={"layer4": "out"}), DeepLabHead(2048, num_outputs))
    if output_stride is not None:  # the head at the rates of the output stride
        channels = model.classifier[0].convs[0][0].in_channels
        rates = tuple(rate * 16 // output_stride for rate in ASPP_RATES_OS16)
        model.classifier = DeepLabHead(channels, num_outputs, atrous_rates=rates)
    # torchvision's MobileNetV3 sets batch-norm momentum 0.01, tuned for long ImageNet
    # schedules; with short schedules from scratch the running statistics would stay near
    # their initial values and eval-mode outputs would be meaningless. Use PyTorch's 0.1.
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.momentum = BATCH_NORM_MOMENTUM
    return model


def _backbone_keys(state: StateDict) -> StateDict:
    """The backbone's keys of a whole segmentation network (``backbone.*``) or of an ImageNet classifier."""
    if any(key.startswith("backbone.") for key in state):  # a whole segmentation network
        return {key[len("backbone.") :]: value for key, value in state.items() if key.startswith("backbone.")}
    return {  # an ImageNet classifier or the backbone itself
        (key[len("features.") :] if key.startswith("features.") else key): value
        for key, value in state.items()
        if not key.startswith(_HEAD_PREFIXES)
    }


def load_backbone_weights(backbone: nn.Module, path: str | os.PathLike, arch: str) -> None:
    """Load a local weights file into the DeepLabv3 backbone of ``arch``.

    Accepted: the backbone's own state dict, torchvision's ImageNet state dict
    of the matching classifier (ResNet: ``fc.*`` dropped; MobileNetV3:
    ``features.`` stripped, ``classifier.*`` dropped) or the state dict of a
    whole segmentation network with a ``backbone`` (torchvision's DeepLabv3,
    the objectness network, SONet: its ``backbone.*`` keys). A leading
    ``module.`` is stripped; a checkpoint's ``state_dict`` entry is used. The
    remaining keys must match exactly. Raises :class:`InputError` naming the
    file when it is missing, unreadable or does not fit.
    """
    load_weights(backbone, path, f"the backbone of {arch}", _backbone_keys)


def backbone_weights_problem(arch: str, path: str | os.PathLike) -> str | None:
    """What :func:`load_backbone_weights` would raise for ``path`` and ``arch``, without loading it; None if it fits.

    The network is built on the ``meta`` device and the file memory-mapped.
    """
    with torch.device("meta"):
        backbone = build_deeplabv3(arch, 1).backbone
    return weights_problem(backbone, path, f"the backbone of {arch}", _backbone_keys)
