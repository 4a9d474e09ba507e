"""Squeeze-and-Excitation, a comparison attention of the RGA paper (Hu et al., "Squeeze-and-
Excitation Networks", CVPR 2018, Sec. 3, Eq. 2-4, Fig. 3).

One SE layer re-weights the channels of a feature map U (B, C, h, w):

    z = GAP(U)                         (squeeze, Eq. 2)
    s = sigmoid(W2 ReLU(W1 z))         (excitation, Eq. 3; W1: C -> C/r, W2: C/r -> C, r = 16)
    out = s * U                        (scale, Eq. 4)

W1 and W2 are fully connected layers with biases (the paper's equations omit biases "to simplify
the notation"; its released models have them).

Placement: SE-ResNet puts one SE layer in every residual block, on the residual branch before
the identity is added (Fig. 3, right). ``SEStage`` does that for one ResNet stage. The RGA paper
does not say where its "SE [18]" sits; its Table 3 count, 27.6 M parameters, matches SE in every
block of the four stages (27.58 M here) and not one SE layer after each stage (25.75 M), see
``rga.study.pages.architecture.parameter_counts_table``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rga.model.backbone import residual_branches
from rga.model.rga import AttentionMaps

__all__ = ["SEStage", "SqueezeExcitation"]


class SqueezeExcitation(nn.Module):
    """One SE layer (Eq. 2-4). Shape: (B, C, h, w) -> (B, C, h, w); works at any h, w.

    Args:
        channels: C.
        reduction: r (hidden width ``max(1, C // r)``); 16 in the paper.
    """

    def __init__(self, channels: int, *, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)  # W1
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden, channels)  # W2

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_with_maps(x)[0]

    def attention_maps(self, x: Tensor) -> AttentionMaps:
        """The gate of ``forward(x)``: channel (B, C); no spatial map."""
        return self.forward_with_maps(x)[1]

    def forward_with_maps(self, x: Tensor) -> tuple[Tensor, AttentionMaps]:
        """``forward(x)`` and the gate it applied, from one pass."""
        z = x.mean((2, 3))  # squeeze: (B, C, h, w) -> (B, C)
        gate = torch.sigmoid(self.fc2(self.relu(self.fc1(z))))  # (B, C)
        return gate[:, :, None, None] * x, AttentionMaps(None, gate)


class SEStage(nn.Module):
    """An SE layer in every residual block of one ResNet stage (SE-ResNet, Hu et al. Fig. 3).

    The stage's blocks stay in the trunk (their parameter names, and ImageNet loading, are
    unchanged); this module holds only the SE layers and runs the stage it is given:
    ``forward(x, stage)`` with ``stage`` the trunk's ``layerN`` computes, for each block,
    ``relu(SE(residual) + shortcut)`` (see ``rga.model.backbone.residual_branches``).

    Args:
        channels: output channels C of the stage's blocks (all blocks of a ResNet stage share it).
        num_blocks: residual blocks in the stage (3, 4, 6, 3 in ResNet-50).
        reduction: r of every SE layer.

    Shape: x (B, C_in, H, W), the stage's input -> (B, C, H', W'), the stage's output.
    """

    def __init__(self, channels: int, num_blocks: int, *, reduction: int = 16) -> None:
        super().__init__()
        self.channels = channels
        self.layers = nn.ModuleList(
            SqueezeExcitation(channels, reduction=reduction) for _ in range(num_blocks)
        )

    def forward(self, x: Tensor, stage: nn.Sequential) -> Tensor:
        return self.forward_with_maps(x, stage)[0]

    def attention_maps(self, x: Tensor, stage: nn.Sequential) -> AttentionMaps:
        """The channel gate (B, C) of the stage's last block, which gives the stage's output."""
        return self.forward_with_maps(x, stage)[1]

    def forward_with_maps(self, x: Tensor, stage: nn.Sequential) -> tuple[Tensor, AttentionMaps]:
        """The stage's output with SE in every block, and the last block's gate."""
        if len(stage) != len(self.layers):
            raise ValueError(
                f"SEStage was built for a stage of {len(self.layers)} residual blocks; the stage "
                f"given has {len(stage)}; build it with num_blocks={len(stage)}"
            )
        maps = AttentionMaps(None, None)
        for block, se in zip(stage, self.layers, strict=True):
            residual, shortcut = residual_branches(block, x)
            residual, maps = se.forward_with_maps(residual)
            x = block.relu(residual + shortcut)
        return x, maps
