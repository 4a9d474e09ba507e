"""The Relation-Aware Global Attention module (Zhang et al., CVPR 2020, Sec. 3.2-3.4).

Numerically the official ``RGA_Module`` (see ``shared/reference/official-spec.md`` 1.2-1.4):
the same sub-layers under the same names, registered in the same order, with the same BN
placements (BN(1) before each sigmoid), ratios 8/8/8, spatial before channel attention, sigmoid
gates and no residual. No explicit init (PyTorch defaults, see ``bn_init``).

Relation path. The relation vector of node i is r_i = [R[i, :]; R[:, i]] with R = Q^T K, and
its embedding is a 1x1 conv (``gg_*``) followed by BN + ReLU. ``relation="materialised"`` builds
R (N x N) and the 2N-channel map r, as the official code does. ``relation="factorised"`` (the
default) uses that the conv is linear in R. Split its weight W = [W_row | W_col] (N' x N each):

    W_row R[i, :]^T = W_row K^T Q_i   and   W_col R[:, i] = W_col Q^T K_i,

so conv(r) = (W_row K^T) Q + (W_col Q^T) K, with (W_row K^T), (W_col Q^T) of shape (B, N', C').
This costs O(N N' C') instead of O(N^2 (C' + 2 N')) and never holds R. Both paths share one set
of parameters (the same state dict) and agree up to float rounding.

Projections. Every 1x1 conv of the module is a matrix product over the flattened positions. The
factorised path computes it as one: the three embeddings that read the same input (``gx``,
``theta``, ``phi``) as a single product with their stacked weights, each followed by its own
BN + ReLU, and the gate heads likewise. The materialised path calls the conv modules one by one
on the official 4-d layouts, step for step the official computation.

Variants (main paper Tables 1 and 4), as constructor switches; the defaults are the official
RGA-SC. ``use_relation=False`` is "w/o Rel." (the head reads only the appearance term U);
``use_appearance=False`` is "w/o Ori." (only the relation embedding E). ``order`` places the two
gates: "sc" (spatial first, the official order), "cs" (channel first) or "parallel" (RGA-S//C:
both gates computed from the module input, applied as their product). ``embedding`` picks the
functions before the affinities: "asymmetric" (separate theta and phi, the official code),
"symmetric" (one shared theta: Q = K, so R is symmetric) or "none" (Q = K = the raw features).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

__all__ = ["EMBEDDINGS", "ORDERS", "RELATIONS", "AttentionMaps", "RGAModule"]

RELATIONS = ("factorised", "materialised")
ORDERS = ("sc", "cs", "parallel")
EMBEDDINGS = ("asymmetric", "symmetric", "none")


class AttentionMaps(NamedTuple):
    """The sigmoid gates an attention module applies: spatial (B, 1, h, w), channel (B, C)."""

    spatial: Tensor | None
    channel: Tensor | None


def _cbr(in_channels: int, out_channels: int) -> nn.Sequential:
    """1x1 conv (no bias) -> BN -> ReLU; keys ``.0`` (conv) and ``.1`` (BN) as in the official code."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    )


def _gate_head(in_channels: int, down_ratio: int) -> nn.Sequential:
    """W1 -> BN -> ReLU -> W2 -> BN(1): the attention logit (spec 1.3 step 7).

    The hidden width is ``max(1, in_channels // down_ratio)``: the official code has no max, which
    only matters below 256x128 (e.g. a 1-channel input in ``rga-sc-norel``, or N' = 1 at tiny
    inputs, would give 0 channels).
    """
    hidden = max(1, in_channels // down_ratio)
    return nn.Sequential(
        nn.Conv2d(in_channels, hidden, 1, bias=False),
        nn.BatchNorm2d(hidden),
        nn.ReLU(),
        nn.Conv2d(hidden, 1, 1, bias=False),
        nn.BatchNorm2d(1),
    )


def _pointwise(weight: Tensor, x: Tensor) -> Tensor:
    """A 1x1 conv as a product: (O, D) weight, x (B, D, M) -> (B, O, M).

    ``torch.matmul`` folds the batch into one GEMM but copies x unless it is laid out as
    (B, M, D); ``bmm`` with the weight broadcast copies nothing but holds a weight-sized
    gradient per image. Take the one that moves less memory (3x apart either way on CPU).
    """
    if weight.numel() * x.shape[0] < x.numel():
        return torch.bmm(weight.expand(x.shape[0], -1, -1), x)
    return torch.matmul(weight, x)


class RGAModule(nn.Module):
    """RGA-S and/or RGA-C attention for a feature map of fixed size (C, height, width).

    Args:
        in_channels: C.
        height, width: the feature-map size the module is built for (N = height * width); the
            spatial relations and the channel branch have N-dependent weight shapes.
        spatial, channel: which attentions to use (spec 1.3-1.4).
        use_relation: False gives "w/o Rel.": only the appearance term U feeds each gate head
            (its input then has 1 channel) and theta/phi/gg are not built.
        use_appearance: False gives "w/o Ori." (Table 1): only the relation embedding E feeds
            each gate head (its input then has N' or C' channels) and gx is not built.
        order: with both attentions, "sc" (spatial, then channel on the spatially gated map; the
            official RGA-SC), "cs" (channel first; RGA-CS) or "parallel" (RGA-S//C: both gates
            from the input x, out = sigmoid(a_s) * sigmoid(a_c) * x).
        embedding: the embedding functions before the affinities (Table 4): "asymmetric"
            (theta != phi, the official code), "symmetric" (theta used for both sides, phi not
            built) or "none" (R from the raw features; theta and phi not built).
        relation: "factorised" or "materialised" (see the module docstring).
        cha_ratio, spa_ratio, down_ratio: C' = C // cha_ratio, N' = N // spa_ratio, and the head
            reduction; each width is at least 1 (identical to the official code at 256x128).
        bn_init: "ones" (modern PyTorch default) or "uniform" (BN gamma ~ U(0, 1), the default of
            torch <= 1.1, hence of the official torch 0.4.0 runs; spec 1.7).
        where, stride: the stage name and total stride, used only in error messages.

    Shape: (B, C, height, width) -> (B, C, height, width).
    """

    def __init__(
        self,
        in_channels: int,
        height: int,
        width: int,
        *,
        spatial: bool = True,
        channel: bool = True,
        use_relation: bool = True,
        use_appearance: bool = True,
        order: str = "sc",
        embedding: str = "asymmetric",
        relation: str = "factorised",
        cha_ratio: int = 8,
        spa_ratio: int = 8,
        down_ratio: int = 8,
        bn_init: str = "ones",
        where: str | None = None,
        stride: int | None = None,
    ) -> None:
        super().__init__()
        if not (spatial or channel):
            raise ValueError("RGAModule needs spatial=True, channel=True or both")
        if not (use_relation or use_appearance):
            raise ValueError("RGAModule needs use_relation=True, use_appearance=True or both")
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
        if embedding not in EMBEDDINGS:
            raise ValueError(f"embedding must be one of {EMBEDDINGS}, got {embedding!r}")
        if embedding != "asymmetric" and not use_relation:
            raise ValueError(
                f"embedding={embedding!r} embeds the relations, but this module has "
                "use_relation=False; leave embedding='asymmetric'"
            )
        if relation not in RELATIONS:
            raise ValueError(f"relation must be one of {RELATIONS}, got {relation!r}")
        if bn_init not in ("ones", "uniform"):
            raise ValueError(f"bn_init must be 'ones' or 'uniform', got {bn_init!r}")
        self.in_channels, self.height, self.width = in_channels, height, width
        self.use_spatial, self.use_channel, self.use_relation = spatial, channel, use_relation
        self.use_appearance, self.order, self.embedding = use_appearance, order, embedding
        self.relation = relation
        self.where, self.stride = where, stride
        c, n = in_channels, height * width
        c_inter, n_inter = max(1, c // cha_ratio), max(1, n // spa_ratio)  # C', N'

        # Registration order = official order (fixes the state_dict order, spec 1.2); layers a
        # variant does not use are left out.
        theta, phi = (
            use_relation and embedding != "none",
            use_relation and embedding == "asymmetric",
        )
        appearance = 1 if use_appearance else 0  # head input: [U; E] = 1 + N' (or 1 + C') channels
        if spatial and use_appearance:
            self.gx_spatial = _cbr(c, c_inter)
        if channel and use_appearance:
            self.gx_channel = _cbr(n, n_inter)
        if use_relation and spatial:
            self.gg_spatial = _cbr(2 * n, n_inter)
        if use_relation and channel:
            self.gg_channel = _cbr(2 * c, c_inter)
        if spatial:
            self.W_spatial = _gate_head(appearance + (n_inter if use_relation else 0), down_ratio)
        if channel:
            self.W_channel = _gate_head(appearance + (c_inter if use_relation else 0), down_ratio)
        if spatial and theta:
            self.theta_spatial = _cbr(c, c_inter)
        if spatial and phi:
            self.phi_spatial = _cbr(c, c_inter)
        if channel and theta:
            self.theta_channel = _cbr(n, n_inter)
        if channel and phi:
            self.phi_channel = _cbr(n, n_inter)

        if bn_init == "uniform":
            for m in self.modules():
                if isinstance(m, nn.BatchNorm2d):
                    nn.init.uniform_(m.weight, 0.0, 1.0)

    def extra_repr(self) -> str:
        return (
            f"in_channels={self.in_channels}, size={self.height}x{self.width}, "
            f"spatial={self.use_spatial}, channel={self.use_channel}, "
            f"use_relation={self.use_relation}, use_appearance={self.use_appearance}, "
            f"order={self.order!r}, embedding={self.embedding!r}, relation={self.relation!r}"
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_with_maps(x)[0]

    def attention_maps(self, x: Tensor) -> AttentionMaps:
        """The gates of ``forward(x)`` (same computation; call in eval mode to leave BN stats alone)."""
        return self.forward_with_maps(x)[1]

    def relation_row_col(self, x: Tensor, index: int | tuple[int, int]) -> tuple[Tensor, Tensor]:
        """Row R[index, :] and column R[:, index] of the spatial affinity, each as a (B, h, w) map.

        ``index`` is a raster position i = row * width + col, or a (row, col) pair. Computed from
        Q and K directly (R is never built), so it works with either relation path.
        """
        if not (self.use_spatial and self.use_relation):
            raise ValueError(
                "relation_row_col needs a spatial branch with relations (kinds rga-sc, rga-s); "
                f"this module has spatial={self.use_spatial}, use_relation={self.use_relation}"
            )
        self._check_size(x)
        b, _, h, w = x.shape
        i = index[0] * w + index[1] if isinstance(index, tuple) else int(index)
        if not 0 <= i < h * w:
            raise IndexError(f"index {index} outside the {h}x{w} feature map")
        if self.embedding == "none":
            q = k = x.flatten(2)  # (B, C, h, w) -> (B, C, N)
        else:
            q = self.theta_spatial(x).flatten(2)  # (B, C', h, w) -> (B, C', N)
            k = self.phi_spatial(x).flatten(2) if self.embedding == "asymmetric" else q
        row = torch.einsum("bc,bcn->bn", q[:, :, i], k)  # R[i, j] = <Q_i, K_j>
        col = torch.einsum("bcn,bc->bn", q, k[:, :, i])  # R[j, i] = <Q_j, K_i>
        return row.view(b, h, w), col.view(b, h, w)

    def forward_with_maps(self, x: Tensor) -> tuple[Tensor, AttentionMaps]:
        """``forward(x)`` and the gates it applied, from one pass."""
        self._check_size(x)
        spatial = channel = None
        if self.order == "parallel":  # RGA-S//C: both gates read the module input
            if self.use_spatial:
                spatial = torch.sigmoid(self._spatial_logit(x))  # (B, 1, h, w)
            if self.use_channel:
                channel = torch.sigmoid(self._channel_logit(x))  # (B, C)
            if spatial is not None:
                x = spatial * x
            if channel is not None:
                x = channel[:, :, None, None] * x
            return x, AttentionMaps(spatial, channel)
        if self.use_channel and self.order == "cs":  # RGA-CS: channel gate first
            channel = torch.sigmoid(self._channel_logit(x))  # (B, C)
            x = channel[:, :, None, None] * x
        if self.use_spatial:
            spatial = torch.sigmoid(self._spatial_logit(x))  # (B, 1, h, w)
            x = spatial * x
        if self.use_channel and self.order == "sc":
            channel = torch.sigmoid(self._channel_logit(x))  # (B, C)
            x = channel[:, :, None, None] * x
        return x, AttentionMaps(spatial, channel)

    def _spatial_logit(self, x: Tensor) -> Tensor:
        """Spec 1.3: nodes are the N positions, features the C channels. Returns (B, 1, h, w)."""
        b, _, h, w = x.shape
        xs = x.flatten(2)  # (B, C, N)
        logit = self._gate_logit(xs, "spatial")  # (B, 1, N)
        return logit.view(b, 1, h, w)

    def _channel_logit(self, x: Tensor) -> Tensor:
        """Spec 1.4: nodes are the C channels; the N positions act as input channels. Returns (B, C)."""
        b, c, _, _ = x.shape
        # Official layout: an "image" with N input channels (positions), C rows, width 1, so BN
        # in this branch normalises per position (or embedding unit) over (B, C).
        xc = x.flatten(2).transpose(1, 2)  # (B, C, h, w) -> (B, N, C)
        return self._gate_logit(xc, "channel").view(b, c)  # (B, 1, C) -> (B, C)

    def _gate_logit(self, x: Tensor, branch: str) -> Tensor:
        """The gate logit of one branch ("spatial" or "channel") for x (B, D, M): M nodes with
        D-dim features. Returns (B, 1, M)."""
        gx = getattr(self, f"gx_{branch}", None)
        theta = getattr(self, f"theta_{branch}", None)
        phi = getattr(self, f"phi_{branch}", None)
        cbrs = [m for m in (gx, theta, phi) if m is not None]
        parts = iter(self._embed(x, *cbrs) if cbrs else ())
        u = next(parts).mean(1, keepdim=True) if gx is not None else None  # (B, 1, M)
        e = None
        if self.use_relation:
            if self.embedding == "none":
                q = k = x  # relations of the raw features
            else:
                q = next(parts)
                k = next(parts) if self.embedding == "asymmetric" else q
            e = self._relation_embedding(q, k, getattr(self, f"gg_{branch}"))  # (B, M', M)
        return self._head(u, e, getattr(self, f"W_{branch}"))

    def _embed(self, x: Tensor, *cbrs: nn.Sequential) -> list[Tensor]:
        """1x1 conv -> BN -> ReLU blocks that read the same x: (B, D, M) -> [(B, D_i, M)].

        Factorised path: one product with the stacked conv weights, then each block's BN + ReLU.
        """
        if self.relation == "materialised":
            x4 = x.contiguous().unsqueeze(-1)  # (B, D, M, 1): the official layouts, (h, w) as M
            return [cbr(x4).squeeze(-1) for cbr in cbrs]
        weight = torch.cat([cbr[0].weight.flatten(1) for cbr in cbrs])  # (sum D_i, D)
        parts = _pointwise(weight, x).split([cbr[0].out_channels for cbr in cbrs], dim=1)
        return [
            relu(bn(p.unsqueeze(-1))).squeeze(-1)
            for (_, bn, relu), p in zip(cbrs, parts, strict=True)
        ]

    def _head(self, u: Tensor | None, e: Tensor | None, head: nn.Sequential) -> Tensor:
        """The gate head on y = [u; e] (appearance first): u (B, 1, M) or None without the
        appearance term, e (B, M', M) or None without relations. Returns logits (B, 1, M).

        The factorised path never builds y (a copy of e): W1 y = W1[:, :1] u + W1[:, 1:] e.
        """
        if self.relation == "materialised":
            y = torch.cat([t for t in (u, e) if t is not None], 1)  # (B, 1 + M', M)
            return head(y.unsqueeze(-1)).squeeze(-1)
        conv1, bn1, relu, conv2, bn2 = head
        w1 = conv1.weight.flatten(1)  # (hidden, 1 + M')
        if u is None:  # w/o Ori.: y = e
            pre = _pointwise(w1, e)  # (B, hidden, M)
        else:
            pre = w1[:, :1] * u  # (hidden, 1) * (B, 1, M) -> (B, hidden, M)
        if u is not None and e is not None:
            pre = pre + _pointwise(w1[:, 1:], e)
        hidden = relu(bn1(pre.unsqueeze(-1))).squeeze(-1)
        return bn2(_pointwise(conv2.weight.flatten(1), hidden).unsqueeze(-1)).squeeze(-1)

    def _relation_embedding(self, q: Tensor, k: Tensor, gg: nn.Sequential) -> Tensor:
        """ReLU(BN(conv(r))) with r_i = [R[i, :]; R[:, i]], R = q^T k.

        q, k: (B, D, M) for M nodes with D-dim embeddings. Returns (B, M', M).
        """
        conv, bn, relu = gg
        if self.relation == "materialised":
            r = q.transpose(1, 2) @ k  # (B, M, D) @ (B, D, M) -> R: (B, M, M)
            # Channel j of node i: R[i, j] (row block) then R[j, i] (column block).
            rel = torch.cat([r.transpose(1, 2), r], 1)  # (B, 2M, M)
            e = conv(rel.unsqueeze(-1))  # (B, 2M, M, 1) -> (B, M', M, 1)
        else:
            w_row, w_col = conv.weight.flatten(1).chunk(2, dim=1)  # (M', 2M) -> 2 x (M', M)
            m_row = w_row @ k.transpose(1, 2)  # (M', M) @ (B, M, D) -> (B, M', D)
            m_col = w_col @ q.transpose(1, 2)  # (B, M', D)
            e = torch.baddbmm(m_col @ k, m_row, q).unsqueeze(-1)  # (B, M', M) -> (B, M', M, 1)
        return relu(bn(e)).squeeze(-1)

    def _check_size(self, x: Tensor) -> None:
        if x.dim() == 4 and x.shape[1] == self.in_channels:
            got_h, got_w = x.shape[-2:]
            if (got_h, got_w) == (self.height, self.width):
                return
            name = f"RGA module after {self.where}" if self.where else "RGA module"
            built, got = f"{self.height}x{self.width}", f"{got_h}x{got_w}"
            if self.stride:
                s = self.stride
                raise ValueError(
                    f"{name} was built for {built} feature maps (input "
                    f"{self.height * s}x{self.width * s}) but got {got} (input "
                    f"{got_h * s}x{got_w * s}); build the model with height={got_h * s}, "
                    f"width={got_w * s}"
                )
            raise ValueError(
                f"{name} was built for {built} feature maps but got {got}; build it with "
                f"height={got_h}, width={got_w}"
            )
        raise ValueError(
            f"RGA module expects input (B, {self.in_channels}, {self.height}, {self.width}), "
            f"got {tuple(x.shape)}"
        )
