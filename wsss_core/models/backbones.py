"""Feature extractors with output stride 8, selected by name (``model.backbone`` in config).

``tiny`` is a small residual network for the generated demo dataset: it trains
from scratch on two CPU cores in minutes. Paper-scale backbones register here
under their own names.
"""

from __future__ import annotations

from typing import Callable

from torch import Tensor, nn


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


class TinyBackbone(nn.Module):
    """Output-stride-8 residual network: 3 stride-2 stages, then one dilated stage."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.out_channels = 4 * width
        self.layers = nn.Sequential(
            ConvBNReLU(3, width, stride=2),
            ResidualBlock(width, 2 * width, stride=2),
            ResidualBlock(2 * width, 4 * width, stride=2),
            ResidualBlock(4 * width, 4 * width, dilation=2),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


BACKBONES: dict[str, Callable[..., nn.Module]] = {"tiny": TinyBackbone}


def build_backbone(name: str, **options: object) -> nn.Module:
    """Build the backbone registered as ``name``; it exposes ``out_channels``."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; available: {sorted(BACKBONES)}")
    return BACKBONES[name](**options)
