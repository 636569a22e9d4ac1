"""A forward pass whose outputs are brought back to the size of the image: every whole-image inference uses it."""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from wsss_core.engine.device import mixed_precision, place_images

Outputs = dict[str, Tensor]


@torch.no_grad()
def forward_resized(
    forward: Callable[[Tensor], Outputs],
    images: Tensor,
    size: Sequence[int],
    device: torch.device,
    head: Callable[[Outputs], Outputs] | None = None,
    keep: Sequence[str] | None = None,
) -> Outputs:
    """``forward(images)`` under mixed precision, the outputs named in ``keep`` bilinearly resized to ``size`` (H, W).

    ``images`` is a (B,3,h,w) normalised batch (e.g. from
    :func:`wsss_core.data.transforms.network_input`); outputs are (B,C,h',w')
    maps, turned to float32 and, when given, passed through ``head`` (in
    float32, outside autocast) before the resize. ``keep`` (default: every
    output, after ``head``) leaves out what is not needed at full size, such as
    the backbone features the networks also return.
    """
    with mixed_precision(device):
        outputs = forward(place_images(images, device))
    if keep is not None and head is None:
        outputs = {name: outputs[name] for name in keep}
    outputs = {name: value.float() for name, value in outputs.items()}
    if head is not None:
        outputs = head(outputs)
    return {
        name: F.interpolate(value, size=tuple(size), mode="bilinear", align_corners=False)
        for name, value in outputs.items()
    }
