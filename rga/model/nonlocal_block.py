"""The non-local block, a comparison attention of the RGA paper (Wang et al., "Non-local Neural
Networks", CVPR 2018, Sec. 3.2-3.3, Eq. 1-3 and 6, Fig. 2), embedded Gaussian version:

    y_i = sum_j softmax_j(theta(x_i)^T phi(x_j)) g(x_j)     (Eq. 1 with Eq. 3: f = exp(theta^T phi))
    z_i = W_z y_i + x_i                                       (Eq. 6, residual)

theta, phi and g are 1x1 convs C -> C' (with bias), W_z a 1x1 conv C' -> C followed by BN whose
scale starts at 0, so that the block starts as the identity (Sec. 4.1, "Implementation
Details"). No scaling of the dot product (that is the later Transformer's 1/sqrt(d)), no
sub-sampling of phi and g (an optional trick of Sec. 3.3).

C' = C // reduction. Wang et al. use C' = C / 2; the kind "nonlocal" uses reduction 4, because
the RGA paper's Table 3 count for NL (30.6 M) is matched by C / 4 after each of the four stages
(30.64 M here), while C / 2 gives 36.2 M; see ``rga.study.pages.architecture.parameter_counts_table``.
The block has no gate: ``attention_maps`` gives no spatial or channel map.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from rga.model.rga import AttentionMaps

__all__ = ["NonLocalBlock"]


class NonLocalBlock(nn.Module):
    """Embedded-Gaussian non-local block. Shape: (B, C, h, w) -> (B, C, h, w); any h, w.

    Args:
        in_channels: C.
        reduction: C' = max(1, C // reduction) channels for theta, phi and g (2 in Wang et al.).
        zero_init: start the BN after W_z with scale 0 (Wang et al.), so the block is the
            identity at initialisation; False keeps PyTorch's BN default (scale 1).
    """

    def __init__(self, in_channels: int, *, reduction: int = 2, zero_init: bool = True) -> None:
        super().__init__()
        inter = max(1, in_channels // reduction)
        self.in_channels, self.inter_channels = in_channels, inter
        self.theta = nn.Conv2d(in_channels, inter, 1)
        self.phi = nn.Conv2d(in_channels, inter, 1)
        self.g = nn.Conv2d(in_channels, inter, 1)
        self.W_z = nn.Sequential(nn.Conv2d(inter, in_channels, 1), nn.BatchNorm2d(in_channels))
        if zero_init:
            nn.init.zeros_(self.W_z[1].weight)

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        q = self.theta(x).flatten(2).transpose(1, 2)  # (B, C', h, w) -> (B, N, C')
        k = self.phi(x).flatten(2).transpose(1, 2)  # (B, N, C')
        v = self.g(x).flatten(2).transpose(1, 2)  # (B, N, C')
        # softmax_j(q_i . k_j) weighted sum of v_j; the fused kernel never stores the N x N
        # weights where a memory-efficient backend exists. scale=1: no 1/sqrt(C') in Eq. 3.
        y = F.scaled_dot_product_attention(q, k, v, scale=1.0)  # (B, N, C')
        y = y.transpose(1, 2).reshape(b, self.inter_channels, h, w)  # (B, N, C') -> (B, C', h, w)
        return x + self.W_z(y)

    def attention_maps(self, x: Tensor) -> AttentionMaps:
        """No gates: a non-local block adds a response instead of multiplying by a gate."""
        return AttentionMaps(None, None)

    def forward_with_maps(self, x: Tensor) -> tuple[Tensor, AttentionMaps]:
        return self.forward(x), AttentionMaps(None, None)
