"""SONet, the Semantic Objectness Network (SONet paper, Sec. 2.2, Eq. 4-5).

* phi_S, the segmentation network: torchvision's DeepLabv3 (``arch``, one of
  :data:`ARCHS`), built with ``weights=None`` / ``weights_backbone=None`` and
  no auxiliary head, so nothing is ever downloaded. It gives the semantic
  logits S (B,C+1,H,W). An optional local ``backbone_weights`` file initialises its backbone.
* phi_O, the objectness module: four 3x3 conv + batch norm + ReLU layers
  (``objectness_width`` channels) and a final 1x1 conv to one channel. It
  takes S itself (the logits, not detached) at the network's output stride,
  before upsampling, and gives the objectness logits S_O (Eq. 4), so L_O
  also trains phi_S. Both S and S_O are then bilinearly resized to the
  input size (running phi_O at full resolution would cost more than the
  whole segmentation network).
* Eq. 5: L = CE(S, G) + BCE(S_O, O), both ignoring pixels labelled 255
  (:func:`wsss_core.sonet.stage.sonet_losses`). Inference uses S only.
* ``output_stride``: 16 (the paper's "1/16 of the input image size") or 8,
  with the ASPP rates of that stride (:func:`build_deeplabv3`); None keeps
  torchvision's network as it is (ResNets at 8, MobileNetV3 at 16).
* ``objectness_branch`` False leaves phi_O out: plain DeepLabv3 (the fully
  supervised baseline of Tables 2-4, "SONet without the objectness branch"
  of Table 5a), trained with CE(S, G) alone.

To fit the inference code of the multi-task network, :meth:`SONet.forward`
answers the branch names ``"seg"`` (S, as ``seg_logits``) and ``"ca"``
(S_O, as ``ca_logits``): S_O plays the role of the class-agnostic map there.

Parameter names are ``backbone.*`` (torchvision's backbone),
``seg_head.*`` (the DeepLabv3 head) and ``objectness.*`` (phi_O); the
training loop gives ``backbone`` the base learning rate and the rest
``head_lr_mult`` times it.
"""

from __future__ import annotations

import os
from typing import Any, Iterable

import torch.nn.functional as F
from torch import Tensor, nn

from wsss_core.models.deeplab import DEEPLAB_ARCHS, build_deeplabv3, load_backbone_weights

ARCHS = DEEPLAB_ARCHS
SONET_BRANCHES = ("seg", "ca")
OBJECTNESS_LAYERS = 4  # 3x3 conv + BN + ReLU layers before the final 1x1 conv (Sec. 2.2)

_CONFIG_KEYS = ("kind", "num_classes", "arch", "objectness_width", "backbone_weights", "output_stride", "objectness_branch")


class ObjectnessModule(nn.Module):
    """phi_O: ``OBJECTNESS_LAYERS`` x (3x3 conv + BN + ReLU), then a 1x1 conv to one logit channel."""

    def __init__(self, in_channels: int, width: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for _ in range(OBJECTNESS_LAYERS):
            layers += [
                nn.Conv2d(channels, width, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
            channels = width
        self.layers = nn.Sequential(*layers)
        self.out = nn.Conv2d(width, 1, kernel_size=1)

    def forward(self, semantics: Tensor) -> Tensor:
        return self.out(self.layers(semantics))


class SONet(nn.Module):
    """DeepLabv3 segmentation network phi_S followed by the objectness module phi_O (Eq. 4)."""

    def __init__(
        self,
        num_classes: int,
        arch: str = ARCHS[0],
        objectness_width: int = 64,
        output_stride: int | None = None,
        objectness_branch: bool = True,
    ) -> None:
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"unknown SONet arch {arch!r}; available: {ARCHS}")
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if objectness_width < 1:
            raise ValueError(f"objectness_width must be >= 1, got {objectness_width}")
        self.num_classes = num_classes
        self.arch = arch
        self.model_config: dict[str, Any] = {}  # filled by build_sonet, saved in checkpoints
        deeplab = build_deeplabv3(arch, num_classes + 1, output_stride)
        self.backbone = deeplab.backbone
        self.seg_head = deeplab.classifier
        self.objectness = ObjectnessModule(num_classes + 1, objectness_width) if objectness_branch else None

    @property
    def branches(self) -> tuple[str, ...]:
        """The branches this network answers: ``seg``, and ``ca`` (S_O) when it has the objectness module."""
        return SONET_BRANCHES if self.objectness is not None else ("seg",)

    def forward(self, images: Tensor, branches: Iterable[str] = SONET_BRANCHES) -> dict[str, Tensor]:
        """S and / or S_O of a (B,3,H,W) batch.

        Returns ``seg_logits`` S (B,C+1,H,W) when ``"seg"`` is requested and
        ``ca_logits`` S_O (B,1,H,W) when ``"ca"`` is; both at the input size.
        """
        branches = set(branches)
        unknown = branches - set(self.branches)
        if unknown:
            raise ValueError(f"unknown branch(es) {sorted(unknown)}; this SONet has {self.branches}")
        out: dict[str, Tensor] = {}
        if not branches:
            return out
        semantics = self.seg_head(self.backbone(images)["out"])
        size = images.shape[-2:]
        if "seg" in branches:
            out["seg_logits"] = F.interpolate(semantics, size=size, mode="bilinear", align_corners=False)
        if "ca" in branches:
            objectness = self.objectness(semantics)
            out["ca_logits"] = F.interpolate(objectness, size=size, mode="bilinear", align_corners=False)
        return out


def build_sonet(model_config: dict[str, Any], pretrained: bool = True) -> SONet:
    """Build a :class:`SONet` from a config mapping with ``num_classes`` (C, background not counted).

    Keys: ``kind`` (``"sonet"`` if given), ``num_classes``, ``arch``
    (default ``deeplabv3_mobilenet_v3_large``), ``objectness_width`` (64),
    ``backbone_weights`` (a local file or null), ``output_stride`` (None: torchvision's),
    ``objectness_branch`` (True). Unknown keys are an error.
    With ``pretrained=False`` the backbone weights file is not read (a
    checkpoint's full state is about to be loaded).
    """
    unknown = set(model_config) - set(_CONFIG_KEYS)
    if unknown:
        raise ValueError(f"unknown SONet setting(s) {sorted(unknown)}; expected {list(_CONFIG_KEYS)}")
    kind = model_config.get("kind", "sonet")
    if kind != "sonet":
        raise ValueError(f"not a SONet config (kind {kind!r})")
    weights = model_config.get("backbone_weights")
    normalised: dict[str, Any] = {
        "kind": "sonet",
        "num_classes": int(model_config["num_classes"]),
        "arch": str(model_config.get("arch", ARCHS[0])),
        "objectness_width": int(model_config.get("objectness_width", 64)),
        "backbone_weights": None if weights is None else os.fspath(weights),
        "output_stride": None if model_config.get("output_stride") is None else int(model_config["output_stride"]),
        "objectness_branch": bool(model_config.get("objectness_branch", True)),
    }
    model = SONet(
        normalised["num_classes"], normalised["arch"], normalised["objectness_width"],
        normalised["output_stride"], normalised["objectness_branch"],
    )  # fmt: skip
    if pretrained and weights is not None:
        load_backbone_weights(model.backbone, weights, normalised["arch"])
    model.model_config = normalised
    return model
