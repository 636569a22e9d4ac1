"""Wide ResNet-38 ("model A" of Wu, Shen & van den Hengel, *Wider or Deeper*), output stride 8.

Pure architecture, no options: :mod:`wsss_core.models.backbones` adds weight
loading and frozen batch norm on top of :class:`ResNet38`.

Layout (channels, strides and dilations of the ``resnet38d`` network used by
Ahn & Kwak's psa code); ``*`` marks a block with a 1x1 projection shortcut::

    conv1a          3x3 conv 3->64, stride 1 (no BN: b2 starts with one)
    b2*, b2_1, b2_2         128 -> 128 -> 128,   b2 stride 2      (OS 2)
    b3*, b3_1, b3_2         256 -> 256 -> 256,   b3 stride 2      (OS 4)
    b4*, b4_1 .. b4_5       512 -> 512 -> 512,   b4 stride 2      (OS 8)
    b5*, b5_1, b5_2         512 -> 1024 (mid 512), dilation 2 (b5's first conv: 1)
    b6*                     bottleneck 1024 -> 512 -> 1024 -> 2048, dilation 4, dropout 0.3
    b7*                     bottleneck 2048 -> 1024 -> 2048 -> 4096, dilation 4, dropout 0.5
    bn7 + ReLU              output: 4096 channels at OS 8

Blocks are pre-activation (BN + ReLU before every convolution). A projection
shortcut reads the block's BN-ReLU'd input; an identity shortcut reads the raw
input. Every strided layer pads so that a side of n pixels becomes ceil(n/2),
so the output is (B, 4096, ceil(H/8), ceil(W/8)).

Parameter names follow psa's ``resnet38d`` state-dict keys (``conv1a.weight``,
``b2.bn_branch2a.*``, ``b2.conv_branch2a.weight``, ``b2.conv_branch1.weight``,
``b6.conv_branch2b2.weight``, ``bn7.running_mean``, ...), which are the keys of
the converted ImageNet file ``ilsvrc-cls_rna-a1_cls1000_ep-0001.pth`` (the
mxnet model's ``linear1000`` classifier is not in it; psa's classifier
``fc8.*`` is dropped on loading). ``wsss convert-weights`` makes that file from
ademxapp's MXNet ``ilsvrc-cls_rna-a1_cls1000_ep-0001.params``
(:mod:`wsss_core.models.mxnet_params`); the tests convert a file written in
MXNet's format with every name and shape of the real one (from psa's network
definition) and load it with no missing or unexpected key.
Convolutions have no bias; batch norms use PyTorch's defaults (eps 1e-5).
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F


class PreActBlock(nn.Module):
    """Pre-activation block of two 3x3 convolutions (psa's ``ResBlock``).

    ``bn_branch2a`` -> ReLU -> ``conv_branch2a`` (3x3, ``stride``, ``first_dilation``)
    -> ``bn_branch2b1`` -> ReLU -> ``conv_branch2b1`` (3x3, ``dilation``), added to
    the shortcut: identity, or ``conv_branch1`` (1x1, ``stride``) when the shape changes.
    """

    def __init__(
        self,
        in_channels: int,
        mid_channels: int,
        out_channels: int,
        stride: int = 1,
        dilation: int = 1,
        first_dilation: int | None = None,
    ) -> None:
        super().__init__()
        first = dilation if first_dilation is None else first_dilation
        self.bn_branch2a = nn.BatchNorm2d(in_channels)
        self.conv_branch2a = nn.Conv2d(
            in_channels, mid_channels, 3, stride=stride, padding=first, dilation=first, bias=False
        )
        self.bn_branch2b1 = nn.BatchNorm2d(mid_channels)
        self.conv_branch2b1 = nn.Conv2d(
            mid_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False
        )
        self.conv_branch1: nn.Conv2d | None = None
        if in_channels != out_channels or stride != 1:
            self.conv_branch1 = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        activated = F.relu(self.bn_branch2a(x), inplace=True)
        shortcut = x if self.conv_branch1 is None else self.conv_branch1(activated)
        branch = self.conv_branch2a(activated)
        branch = self.conv_branch2b1(F.relu(self.bn_branch2b1(branch), inplace=True))
        return shortcut + branch


class PreActBottleneck(nn.Module):
    """Pre-activation bottleneck of width ``out_channels`` (psa's ``ResBlock_bot``).

    ``bn_branch2a`` -> ReLU -> ``conv_branch2a`` (1x1, out/4) -> ``bn_branch2b1``
    -> ReLU -> dropout -> ``conv_branch2b1`` (3x3, out/2, ``dilation``) ->
    ``bn_branch2b2`` -> ReLU -> dropout -> ``conv_branch2b2`` (1x1, out), added to
    the shortcut: identity, or ``conv_branch1`` (1x1) when the width changes.
    """

    def __init__(self, in_channels: int, out_channels: int, dilation: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        quarter, half = out_channels // 4, out_channels // 2
        self.bn_branch2a = nn.BatchNorm2d(in_channels)
        self.conv_branch2a = nn.Conv2d(in_channels, quarter, 1, bias=False)
        self.bn_branch2b1 = nn.BatchNorm2d(quarter)
        self.dropout_2b1 = nn.Dropout2d(dropout)
        self.conv_branch2b1 = nn.Conv2d(quarter, half, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn_branch2b2 = nn.BatchNorm2d(half)
        self.dropout_2b2 = nn.Dropout2d(dropout)
        self.conv_branch2b2 = nn.Conv2d(half, out_channels, 1, bias=False)
        self.conv_branch1: nn.Conv2d | None = None
        if in_channels != out_channels:
            self.conv_branch1 = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        activated = F.relu(self.bn_branch2a(x), inplace=True)
        shortcut = x if self.conv_branch1 is None else self.conv_branch1(activated)
        branch = self.conv_branch2a(activated)
        branch = self.dropout_2b1(F.relu(self.bn_branch2b1(branch), inplace=True))
        branch = self.conv_branch2b1(branch)
        branch = self.dropout_2b2(F.relu(self.bn_branch2b2(branch), inplace=True))
        branch = self.conv_branch2b2(branch)
        return shortcut + branch


class ResNet38(nn.Module):
    """The 38-layer wide residual network; ``forward`` returns ReLU(bn7(b7 output)), 4096 channels."""

    out_channels = 4096

    def __init__(self) -> None:
        super().__init__()
        self.conv1a = nn.Conv2d(3, 64, 3, padding=1, bias=False)
        # (name, block): registered in forward order.
        blocks: list[tuple[str, nn.Module]] = [
            ("b2", PreActBlock(64, 128, 128, stride=2)),
            ("b2_1", PreActBlock(128, 128, 128)),
            ("b2_2", PreActBlock(128, 128, 128)),
            ("b3", PreActBlock(128, 256, 256, stride=2)),
            ("b3_1", PreActBlock(256, 256, 256)),
            ("b3_2", PreActBlock(256, 256, 256)),
            ("b4", PreActBlock(256, 512, 512, stride=2)),
        ]
        blocks += [(f"b4_{i}", PreActBlock(512, 512, 512)) for i in range(1, 6)]
        blocks += [
            ("b5", PreActBlock(512, 512, 1024, dilation=2, first_dilation=1)),
            ("b5_1", PreActBlock(1024, 512, 1024, dilation=2)),
            ("b5_2", PreActBlock(1024, 512, 1024, dilation=2)),
            ("b6", PreActBottleneck(1024, 2048, dilation=4, dropout=0.3)),
            ("b7", PreActBottleneck(2048, 4096, dilation=4, dropout=0.5)),
        ]
        self._block_names = [name for name, _ in blocks]
        for name, block in blocks:
            self.add_module(name, block)
        self.bn7 = nn.BatchNorm2d(4096)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1a(x)
        for name in self._block_names:
            x = getattr(self, name)(x)
        return F.relu(self.bn7(x))
