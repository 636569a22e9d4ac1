"""torchvision DeepLabv3 networks, built without downloads, and local backbone weights for them.

Used by the objectness network (SONet paper, Sec. 2.1) and by SONet's
segmentation network (Sec. 2.2).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import torch
from torch import Tensor, nn
from torchvision.models import segmentation

from wsss_core.io import InputError

log = logging.getLogger(__name__)

DEEPLAB_ARCHS = ("deeplabv3_mobilenet_v3_large", "deeplabv3_resnet50", "deeplabv3_resnet101")
# Keys of torchvision's ImageNet classifiers that do not belong to the backbone.
_HEAD_PREFIXES = ("fc.", "classifier.")


def build_deeplabv3(arch: str, num_outputs: int) -> segmentation.DeepLabV3:
    """torchvision DeepLabv3 ``arch`` with ``num_outputs`` channels, random weights, no auxiliary head."""
    if arch not in DEEPLAB_ARCHS:
        raise ValueError(f"unknown DeepLabv3 architecture {arch!r}; available: {DEEPLAB_ARCHS}")
    builder = getattr(segmentation, arch)
    return builder(weights=None, weights_backbone=None, num_classes=num_outputs, aux_loss=False)


def load_backbone_weights(backbone: nn.Module, path: str | os.PathLike, arch: str) -> None:
    """Load a local weights file into the DeepLabv3 backbone of ``arch``.

    Accepted: the backbone's own state dict, torchvision's ImageNet state dict
    of the matching classifier (ResNet: ``fc.*`` dropped; MobileNetV3:
    ``features.`` stripped, ``classifier.*`` dropped) or the state dict of a
    whole segmentation network with a ``backbone`` (torchvision's DeepLabv3,
    the objectness network, SONet: its ``backbone.*`` keys). A leading
    ``module.`` is stripped; a checkpoint's ``state_dict`` entry is used. The remaining keys must match exactly. Raises
    :class:`InputError` naming the file when it is missing, unreadable or
    does not fit.
    """
    path = os.path.expanduser(os.fspath(path))
    if not os.path.isfile(path):
        raise InputError(f"{path}: backbone weights not found")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for corrupt / foreign files
        raise InputError(f"{path}: not a readable weights file ({err})") from err
    if isinstance(loaded, Mapping) and isinstance(loaded.get("state_dict"), Mapping):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, Mapping) or not all(
        isinstance(key, str) and isinstance(value, Tensor) for key, value in loaded.items()
    ):
        raise InputError(f"{path}: not a state dict (a mapping of parameter names to tensors)")
    state = {(key[len("module.") :] if key.startswith("module.") else key): value for key, value in loaded.items()}
    if any(key.startswith("backbone.") for key in state):  # a whole segmentation network
        state = {key[len("backbone.") :]: value for key, value in state.items() if key.startswith("backbone.")}
    else:  # an ImageNet classifier or the backbone itself
        state = {
            (key[len("features.") :] if key.startswith("features.") else key): value
            for key, value in state.items()
            if not key.startswith(_HEAD_PREFIXES)
        }
    expected = backbone.state_dict()
    missing = sorted(key for key in expected if key not in state and not key.endswith(".num_batches_tracked"))
    unexpected = sorted(key for key in state if key not in expected)
    if missing or unexpected:
        raise InputError(
            f"{path}: weights do not match the backbone of {arch}: "
            f"missing keys {missing[:5]} ({len(missing)} in all); "
            f"unexpected keys {unexpected[:5]} ({len(unexpected)} in all)"
        )
    try:
        backbone.load_state_dict(state, strict=False)
    except RuntimeError as err:  # tensor shapes that do not fit
        raise InputError(f"{path}: weights do not fit the backbone of {arch}: {err}") from err
    log.info("%s: loaded backbone weights from %s", arch, path)
