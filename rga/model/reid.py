"""The re-id network: ResNet trunk, attention after chosen stages, GAP, BNNeck, classifier.

Supplementary Table 1 and spec 1.1/1.6: stem -> layer1 -> att1 -> ... -> layer4 -> att4 -> global
average pooling (z, the official ``feat_``) -> BatchNorm1d with bias frozen at 0 (z_hat, ``feat``)
-> bias-free linear classifier with N(0, 0.001^2) init (``cls``). No dropout (the official script
runs with ``--dropout 0``).

The attention ``kind`` names a design of the main paper's Tables 1, 2 and 4 (see ``KINDS``). All
of them sit after the chosen stages, except SE, which sits inside every residual block of those
stages (SE-ResNet; the placement the paper's Table 3 count identifies, see ``rga.model.se``).
Left out: FC-S, FC-C, FC-S//C (reference [23]) and SNL ([5]), whose sources we cannot identify.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from numbers import Integral
from typing import NamedTuple

from torch import Tensor, nn

from rga.model.backbone import (
    STAGE_NAMES,
    build_trunk,
    feature_sizes,
    stage_channels,
    stage_strides,
)
from rga.model.cbam import CBAM
from rga.model.nonlocal_block import NonLocalBlock
from rga.model.rga import EMBEDDINGS, RELATIONS, AttentionMaps, RGAModule
from rga.model.se import SEStage

__all__ = [
    "FAMILIES",
    "KINDS",
    "ReIDNet",
    "ReIDOutput",
    "build_attention",
    "check_positions",
    "has_relations",
    "kind_family",
]

# The official RGA module's reductions (cha_ratio, spa_ratio, down_ratio; spec 1.2) and the CBAM
# paper's MLP reduction r: the defaults of ``rga_ratios`` and ``cbam_reduction``.
RGA_RATIOS = (8, 8, 8)
CBAM_REDUCTION = 16

# Attention kinds: the constructor switches of the kind's module, whose family is the name's
# first part ("rga-cs" -> RGAModule, "cbam-s" -> CBAM; see FAMILIES). RGA-SC is the paper's final
# model. Paper names: Table 1 (RGA), Table 2 (the other designs).
KINDS: dict[str, dict[str, bool | str | int]] = {
    "rga-sc": {"spatial": True, "channel": True, "use_relation": True},  # RGA-SC
    "rga-s": {"spatial": True, "channel": False, "use_relation": True},  # RGA-S
    "rga-c": {"spatial": False, "channel": True, "use_relation": True},  # RGA-C
    "rga-sc-norel": {"spatial": True, "channel": True, "use_relation": False},  # RGA-SC w/o Rel.
    "rga-s-norel": {"spatial": True, "channel": False, "use_relation": False},  # RGA-S w/o Rel.
    "rga-c-norel": {"spatial": False, "channel": True, "use_relation": False},  # RGA-C w/o Rel.
    "rga-s-noori": {"spatial": True, "channel": False, "use_appearance": False},  # w/o Ori.
    "rga-c-noori": {"spatial": False, "channel": True, "use_appearance": False},  # w/o Ori.
    "rga-sc-parallel": {"spatial": True, "channel": True, "order": "parallel"},  # RGA-S//C
    "rga-cs": {"spatial": True, "channel": True, "order": "cs"},  # RGA-CS
    "cbam": {"channel": True, "spatial": True},  # CBAM-CS (Woo et al.: channel first)
    "cbam-s": {"channel": False, "spatial": True},  # CBAM-S
    "cbam-c": {"channel": True, "spatial": False},  # CBAM-C
    "se": {"reduction": 16},  # SE, in every residual block of the stage
    "nonlocal": {"reduction": 4},  # NL (embedded Gaussian); C/4 from the Table 3 count
}
FAMILIES: dict[str, type[nn.Module]] = {
    "rga": RGAModule,
    "cbam": CBAM,
    "se": SEStage,
    "nonlocal": NonLocalBlock,
}


def kind_family(kind: str) -> str:
    """The module family of a kind: its name up to the first "-" ("rga-sc-norel" -> "rga")."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; valid kinds: {', '.join(KINDS)} (or None)")
    return kind.split("-", 1)[0]


def has_relations(kind: str | None) -> bool:
    """Whether ``kind`` is an RGA kind with relations (the ones ``embedding`` applies to)."""
    return kind is not None and kind_family(kind) == "rga" and KINDS[kind].get("use_relation", True)


def _check_embedding(kind: str | None, embedding: str) -> None:
    if embedding not in EMBEDDINGS:
        raise ValueError(f"embedding must be one of {EMBEDDINGS}, got {embedding!r}")
    if embedding != "asymmetric" and not has_relations(kind):
        raise ValueError(
            f"embedding={embedding!r} applies to RGA kinds with relations "
            f"({', '.join(k for k in KINDS if has_relations(k))}); kind {kind!r} has none: "
            "leave embedding='asymmetric'"
        )


class ReIDOutput(NamedTuple):
    """z (B, D): pooled feature; z_hat (B, D): after BNNeck; logits (B, K) in train mode, else None."""

    z: Tensor
    z_hat: Tensor
    logits: Tensor | None


def build_attention(
    kind: str,
    in_channels: int,
    height: int,
    width: int,
    *,
    relation: str = "factorised",
    embedding: str = "asymmetric",
    bn_init: str = "ones",
    num_blocks: int = 1,
    where: str | None = None,
    stride: int | None = None,
    rga_ratios: tuple[int, int, int] = RGA_RATIOS,
    cbam_reduction: int = CBAM_REDUCTION,
) -> nn.Module:
    """One attention module of ``kind`` for a (in_channels, height, width) feature map.

    ``relation``, ``embedding``, ``bn_init`` and ``rga_ratios`` (cha_ratio, spa_ratio,
    down_ratio) apply to RGA kinds (``embedding`` only to those with relations);
    ``cbam_reduction`` to CBAM kinds with the channel MLP ("cbam", "cbam-c"); ``num_blocks`` to
    "se" (the residual blocks of the stage it sits in).
    """
    family = kind_family(kind)
    _check_embedding(kind, embedding)
    cha_ratio, spa_ratio, down_ratio = _check_ratios(kind, rga_ratios, cbam_reduction)
    switches = KINDS[kind]
    if family == "rga":
        return RGAModule(
            in_channels,
            height,
            width,
            **switches,
            embedding=embedding,
            relation=relation,
            cha_ratio=cha_ratio,
            spa_ratio=spa_ratio,
            down_ratio=down_ratio,
            bn_init=bn_init,
            where=where,
            stride=stride,
        )
    if family == "se":
        return SEStage(in_channels, num_blocks, **switches)
    if family == "cbam" and switches["channel"]:
        return CBAM(in_channels, **switches, reduction=cbam_reduction)
    return FAMILIES[family](in_channels, **switches)


def _check_ratios(
    kind: str | None, rga_ratios: tuple[int, int, int], cbam_reduction: int
) -> tuple[int, int, int]:
    """``rga_ratios`` as three ints, or a ValueError naming the argument and the fix (a
    non-default value only for the kinds it changes, as ``RunConfig`` checks)."""
    ratios = tuple(rga_ratios) if isinstance(rga_ratios, (tuple, list)) else ()
    if len(ratios) != 3 or not all(
        isinstance(r, Integral) and not isinstance(r, bool) and r >= 1 for r in ratios
    ):
        raise ValueError(
            f"rga_ratios={rga_ratios!r}: give three positive integers (cha_ratio, spa_ratio, "
            "down_ratio), e.g. (8, 8, 8), the official code's"
        )
    is_rga = kind is not None and kind_family(kind) == "rga"
    if ratios != RGA_RATIOS and not is_rga:
        raise ValueError(
            f"rga_ratios={ratios!r} applies to RGA kinds; kind {kind!r} has no RGA module: "
            f"leave rga_ratios={RGA_RATIOS}"
        )
    if isinstance(cbam_reduction, bool) or not isinstance(cbam_reduction, Integral):
        raise ValueError(f"cbam_reduction must be a positive int, got {cbam_reduction!r}")
    has_mlp = kind is not None and kind_family(kind) == "cbam" and KINDS[kind]["channel"]
    if cbam_reduction < 1 or (cbam_reduction != CBAM_REDUCTION and not has_mlp):
        raise ValueError(
            f"cbam_reduction={cbam_reduction!r} is the positive r of CBAM's channel MLP (kinds "
            f"cbam, cbam-c); for kind {kind!r} leave cbam_reduction={CBAM_REDUCTION}"
        )
    return tuple(int(r) for r in ratios)


def check_positions(positions) -> tuple[int, ...]:
    """``positions`` as a tuple of ints, or a ValueError naming the problem (as ``RunConfig``)."""
    if isinstance(positions, (str, bytes)) or not isinstance(positions, Iterable):
        problem = f"got {type(positions).__name__}, not a tuple of stage numbers"
    else:
        positions = tuple(positions)
        not_stages = [
            p
            for p in positions
            if not isinstance(p, Integral) or isinstance(p, bool) or int(p) not in STAGE_NAMES
        ]
        repeated = sorted({p for p in positions if positions.count(p) > 1})
        if not_stages:
            listed = " and ".join(map(repr, not_stages))
            problem = f"{listed} {'is not a stage' if len(not_stages) == 1 else 'are not stages'}"
        elif repeated:
            problem = f"stage {' and '.join(map(str, repeated))} given more than once"
        else:
            return tuple(int(p) for p in positions)
    raise ValueError(
        f"positions={positions!r}: {problem}; positions takes distinct stage numbers 1-4 "
        "(1 = after layer1/conv2_x, ..., 4 = after layer4/conv5_x), e.g. positions=(1, 2, 3, 4), "
        "or () for the baseline"
    )


class ReIDNet(nn.Module):
    """ResNet + attention modules + BNNeck for person re-id.

    Args:
        num_classes: identities in the training set (classifier outputs).
        arch: a key of ``rga.model.backbone.ARCHS`` ("resnet18", "resnet34", "resnet50", narrow
            "resnet18-w0.5" / "resnet18-w0.25"). D follows the trunk (2048 for resnet50).
        kind: a key of ``KINDS`` or None (baseline).
        positions: distinct stages (1-4) followed by an attention module; () is the baseline.
        height, width: the input size; RGA modules are built for the matching feature maps.
        relation: "factorised" (default) or "materialised" RGA relation path (same parameters).
        embedding: the relation embeddings of RGA kinds with relations (main paper Table 4):
            "asymmetric" (default, the official code), "symmetric" or "none".
        weights: None, "imagenet" or the path of a torchvision ResNet state dict (trunk only).
        last_stride: stride of layer4 (1 in the paper).
        attention_bn_init: "ones" (modern PyTorch) or "uniform" (BN gamma ~ U(0, 1) in the RGA
            modules, as torch <= 1.1 drew it in the official runs; spec 1.7).
        rga_ratios: (cha_ratio, spa_ratio, down_ratio) of the RGA modules: C' = C // cha_ratio,
            N' = N // spa_ratio, gate-head hidden = input // down_ratio ((8, 8, 8): the
            official code, spec 1.2). RGA kinds only.
        cbam_reduction: r of CBAM's channel MLP (16: the CBAM paper); kinds "cbam", "cbam-c".

    ``model(x)`` with x (B, 3, height, width) returns ``ReIDOutput``.
    """

    def __init__(
        self,
        num_classes: int,
        *,
        arch: str = "resnet50",
        kind: str | None = "rga-sc",
        positions: tuple[int, ...] = (1, 2, 3, 4),
        height: int = 256,
        width: int = 128,
        relation: str = "factorised",
        embedding: str = "asymmetric",
        weights: str | os.PathLike | None = None,
        last_stride: int = 1,
        attention_bn_init: str = "ones",
        rga_ratios: tuple[int, int, int] = RGA_RATIOS,
        cbam_reduction: int = CBAM_REDUCTION,
    ) -> None:
        super().__init__()
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; valid kinds: {', '.join(KINDS)} (or None)")
        if relation not in RELATIONS:
            raise ValueError(f"relation must be one of {RELATIONS}, got {relation!r}")
        _check_embedding(kind, embedding)
        rga_ratios = _check_ratios(kind, rga_ratios, cbam_reduction)
        positions = check_positions(positions)
        self.num_classes, self.arch, self.kind = num_classes, arch, kind
        self.positions = () if kind is None else tuple(sorted(positions))
        self.height, self.width, self.last_stride = height, width, last_stride
        self.relation, self.embedding = relation, embedding
        self.rga_ratios, self.cbam_reduction = rga_ratios, cbam_reduction

        self.backbone = build_trunk(arch, weights=weights, last_stride=last_stride)
        channels = stage_channels(self.backbone)
        sizes = feature_sizes(height, width, last_stride)
        strides = stage_strides(last_stride)
        self.attention = nn.ModuleDict()
        for stage in self.positions:
            self.attention[f"att{stage}"] = build_attention(
                kind,
                channels[stage],
                *sizes[stage],
                relation=relation,
                embedding=embedding,
                bn_init=attention_bn_init,
                num_blocks=len(getattr(self.backbone, f"layer{stage}")),
                where=STAGE_NAMES[stage],
                stride=strides[stage],
                rga_ratios=rga_ratios,
                cbam_reduction=cbam_reduction,
            )

        self.feature_dim = channels[4]
        self.feat_bn = nn.BatchNorm1d(self.feature_dim)
        nn.init.ones_(self.feat_bn.weight)
        nn.init.zeros_(self.feat_bn.bias)
        self.feat_bn.bias.requires_grad_(False)  # BNNeck: shift frozen at 0 (spec 1.6)
        self.classifier = nn.Linear(self.feature_dim, num_classes, bias=False)
        nn.init.normal_(self.classifier.weight, std=0.001)

    @property
    def attention_modules(self) -> dict[int, nn.Module]:
        """{stage: module} of the attention modules present."""
        return {int(name.removeprefix("att")): m for name, m in self.attention.items()}

    def forward(self, x: Tensor) -> ReIDOutput:
        z = self.forward_features(x).mean((2, 3))  # GAP: (B, D, h, w) -> (B, D)
        z_hat = self.feat_bn(z)
        logits = self.classifier(z_hat) if self.training else None
        return ReIDOutput(z, z_hat, logits)

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) -> the last feature map (B, D, h, w), attention applied."""
        self._check_input(x)
        return self._run(x, None)

    def attention_maps(self, x: Tensor) -> dict[int, AttentionMaps]:
        """{stage: gates of that stage's module} for one forward pass over x (B, 3, H, W)."""
        self._check_input(x)
        maps: dict[int, AttentionMaps] = {}
        self._run(x, maps)
        return maps

    def _run(self, x: Tensor, maps: dict[int, AttentionMaps] | None) -> Tensor:
        t = self.backbone
        x = t.maxpool(t.relu(t.bn1(t.conv1(x))))
        for stage in range(1, 5):
            layer = getattr(t, f"layer{stage}")
            module = self.attention[f"att{stage}"] if f"att{stage}" in self.attention else None
            if isinstance(module, SEStage):  # inside the stage's blocks: the module runs them
                if maps is None:
                    x = module(x, layer)
                else:
                    x, maps[stage] = module.forward_with_maps(x, layer)
                continue
            x = layer(x)
            if module is not None:
                if maps is None:
                    x = module(x)
                else:
                    x, maps[stage] = module.forward_with_maps(x)
        return x

    def _check_input(self, x: Tensor) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(
                f"images must be a torch.Tensor (B, 3, H, W); got {type(x).__name__}: batch "
                "them with rga.data.ImageDataset and a DataLoader, or convert with torch.as_tensor"
            )
        if not x.is_floating_point():
            raise TypeError(
                "images must be a float tensor normalised like rga.data.build_transforms makes; "
                f"got {x.dtype}: convert with images.float() / 255 and normalise with "
                "rga.data.IMAGENET_MEAN and IMAGENET_STD"
            )
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"ReIDNet expects images (B, 3, H, W), got {tuple(x.shape)}")
        size_tied = any(isinstance(m, RGAModule) for m in self.attention.values())
        if size_tied and tuple(x.shape[-2:]) != (self.height, self.width):
            h, w = x.shape[-2:]
            raise ValueError(
                f"ReIDNet was built for {self.height}x{self.width} inputs (its RGA modules are "
                f"tied to that size) but got {h}x{w}; build the model with height={h}, width={w}, "
                f"or resize the images to {self.height}x{self.width}"
            )
