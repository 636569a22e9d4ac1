"""The decoder used by the class-agnostic and semantic branches (Sec. 3.2)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn


class AtrousCascadeDecoder(nn.Module):
    """Three cascaded atrous convolutions (DenseASPP style) and a final 1x1 convolution.

    Layer ``i`` sees the backbone features concatenated with the outputs of all
    earlier layers (dense cascade, Yang et al. 2018), with dilation
    ``rates[i]`` (6, 12, 18 in the paper). Returns logits; the sigmoid
    (class-agnostic) or softmax (semantic) is applied by the caller.
    """

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, rates: Sequence[int]) -> None:
        super().__init__()
        self.atrous = nn.ModuleList()
        channels = in_channels
        for rate in rates:
            self.atrous.append(
                nn.Sequential(
                    nn.Conv2d(channels, mid_channels, 3, padding=rate, dilation=rate, bias=False),
                    nn.BatchNorm2d(mid_channels),
                    nn.ReLU(inplace=True),
                )
            )
            channels += mid_channels
        self.classifier = nn.Conv2d(channels, out_channels, 1)

    def forward(self, features: Tensor) -> Tensor:
        stacked = features
        for layer in self.atrous:
            stacked = torch.cat([stacked, layer(stacked)], dim=1)
        return self.classifier(stacked)
