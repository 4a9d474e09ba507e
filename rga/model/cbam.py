"""CBAM, the comparison attention of the RGA paper (Woo et al., "CBAM: Convolutional Block
Attention Module", ECCV 2018, Sec. 3, Eq. 1-3).

Channel attention first, then spatial attention, each a sigmoid gate that multiplies the
features:

    M_c(F) = sigmoid(MLP(AvgPool(F)) + MLP(MaxPool(F)))      (shared MLP C -> C/r -> C, r = 16)
    M_s(F) = sigmoid(f_7x7([AvgPool_c(F); MaxPool_c(F)]))   (channel-wise mean and max maps)

Placed like the RGA modules (after a residual stage, no residual add) for the comparison. The
paper's Eq. 3 has no BN after the 7x7 conv; the authors' released code adds one:
``spatial_bn=True`` restores it. ``channel=False`` gives CBAM-S and ``spatial=False`` CBAM-C,
the single-attention rows of the RGA paper's Table 2 (CBAM's own Sec. 4.1 ablates them alone).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rga.model.rga import AttentionMaps

__all__ = ["CBAM"]


class CBAM(nn.Module):
    """Channel then spatial attention. Shape: (B, C, h, w) -> (B, C, h, w); works at any h, w.

    Args:
        in_channels: C.
        channel, spatial: which attentions to use (both: CBAM-CS, the paper's order).
        reduction: r of the shared MLP (hidden width ``max(1, C // r)``).
        kernel_size: of the spatial conv (7 in the paper).
        spatial_bn: BN(1) after the spatial conv (the released CBAM code) instead of a conv bias.
    """

    def __init__(
        self,
        in_channels: int,
        *,
        channel: bool = True,
        spatial: bool = True,
        reduction: int = 16,
        kernel_size: int = 7,
        spatial_bn: bool = False,
    ) -> None:
        super().__init__()
        if not (channel or spatial):
            raise ValueError("CBAM needs channel=True, spatial=True or both")
        self.use_channel, self.use_spatial = channel, spatial
        if channel:
            hidden = max(1, in_channels // reduction)
            self.mlp = nn.Sequential(
                nn.Linear(in_channels, hidden), nn.ReLU(), nn.Linear(hidden, in_channels)
            )
        if spatial:
            self.spatial_conv = nn.Conv2d(
                2, 1, kernel_size, padding=kernel_size // 2, bias=not spatial_bn
            )
            self.spatial_bn = nn.BatchNorm2d(1) if spatial_bn else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_with_maps(x)[0]

    def attention_maps(self, x: Tensor) -> AttentionMaps:
        """The gates of ``forward(x)``: spatial (B, 1, h, w), channel (B, C)."""
        return self.forward_with_maps(x)[1]

    def forward_with_maps(self, x: Tensor) -> tuple[Tensor, AttentionMaps]:
        """``forward(x)`` and the gates it applied, from one pass."""
        spatial = channel = None
        if self.use_channel:
            avg, mx = x.mean((2, 3)), x.amax((2, 3))  # (B, C) each
            channel = torch.sigmoid(self.mlp(avg) + self.mlp(mx))  # (B, C)
            x = channel[:, :, None, None] * x
        if self.use_spatial:
            maps = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)  # (B, 2, h, w)
            spatial = torch.sigmoid(self.spatial_bn(self.spatial_conv(maps)))  # (B, 1, h, w)
            x = spatial * x
        return x, AttentionMaps(spatial, channel)
