"""The decoder used by the class-agnostic and semantic branches (Sec. 3.2)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

CASCADES = ("dense", "chain")


class AtrousCascadeDecoder(nn.Module):
    """Three cascaded atrous convolutions and a final 1x1 convolution.

    ``cascade="dense"`` (DenseASPP, Yang et al. 2018, as Sec. 3.2 names it):
    layer ``i`` sees the backbone features concatenated with the outputs of all
    earlier layers. ``cascade="chain"`` (the CTLR authors' AuxSegNet code): each
    layer sees the previous one's output only. Layer ``i`` has dilation
    ``rates[i]`` (6, 12, 18 in the paper) and is conv + batch norm + ReLU, or
    conv (with bias) + ReLU without ``batch_norm`` (as in AuxSegNet). Returns
    logits; the sigmoid (class-agnostic) or softmax (semantic) is applied by the caller.
    """

    def __init__(
        self,
        in_channels: int,
        mid_channels: int,
        out_channels: int,
        rates: Sequence[int],
        *,
        cascade: str = "dense",
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        if cascade not in CASCADES:
            raise ValueError(f"unknown decoder cascade {cascade!r}; available: {CASCADES}")
        self.dense = cascade == "dense"
        self.atrous = nn.ModuleList()
        channels = in_channels
        for rate in rates:
            conv = nn.Conv2d(channels, mid_channels, 3, padding=rate, dilation=rate, bias=not batch_norm)
            norm = [nn.BatchNorm2d(mid_channels)] if batch_norm else []
            self.atrous.append(nn.Sequential(conv, *norm, nn.ReLU(inplace=True)))
            channels = channels + mid_channels if self.dense else mid_channels
        self.classifier = nn.Conv2d(channels, out_channels, 1)

    def forward(self, features: Tensor) -> Tensor:
        stacked = features
        for layer in self.atrous:
            stacked = torch.cat([stacked, layer(stacked)], dim=1) if self.dense else layer(stacked)
        return self.classifier(stacked)
