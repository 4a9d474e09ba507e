"""The ResNet trunk: torchvision ResNets with an explicit last stride and weight loading.

The trunk is a plain ``torchvision.models.ResNet`` whose ``fc`` is replaced by ``nn.Identity``,
so its parameter names are torchvision's (``conv1``, ``bn1``, ``layer1`` .. ``layer4``) and an
ImageNet state dict loads into it by name. ``ReIDNet`` runs the stem and the four stages itself
so that attention modules can sit between the stages (supplementary Table 1).
"""

from __future__ import annotations

import math
import os
import urllib.error
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

__all__ = [
    "ARCHS",
    "STAGE_NAMES",
    "build_trunk",
    "feature_sizes",
    "load_checked",
    "residual_branches",
    "stage_channels",
    "stage_strides",
]

# The paper's names of the four residual stages (supplementary Table 1).
STAGE_NAMES = {1: "conv2_x", 2: "conv3_x", 3: "conv4_x", 4: "conv5_x"}


@dataclass(frozen=True)
class ArchSpec:
    """How to build one trunk: a torchvision block type, blocks per stage and a width multiplier."""

    block: type[nn.Module]
    layers: tuple[int, int, int, int]
    width: float = 1.0
    weights: str | None = None  # name of the torchvision weights enum, e.g. "ResNet50_Weights"


ARCHS: dict[str, ArchSpec] = {
    "resnet18": ArchSpec(BasicBlock, (2, 2, 2, 2), weights="ResNet18_Weights"),
    "resnet34": ArchSpec(BasicBlock, (3, 4, 6, 3), weights="ResNet34_Weights"),
    "resnet50": ArchSpec(Bottleneck, (3, 4, 6, 3), weights="ResNet50_Weights"),
    # Narrow ResNet-18s for CPU-scale runs: stages 1-4 have width * (64, 128, 256, 512)
    # channels; the stem keeps 64. No ImageNet weights exist for them.
    "resnet18-w0.5": ArchSpec(BasicBlock, (2, 2, 2, 2), width=0.5),
    "resnet18-w0.25": ArchSpec(BasicBlock, (2, 2, 2, 2), width=0.25),
}


class _NarrowResNet(ResNet):
    """torchvision's ResNet with every stage's width scaled by ``width`` (the stem keeps 64)."""

    def __init__(self, block: type[nn.Module], layers: list[int], width: float) -> None:
        self._width = width
        super().__init__(block, layers)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        return super()._make_layer(
            block, max(1, round(planes * self._width)), blocks, stride, dilate
        )


def _arch_spec(arch: str) -> ArchSpec:
    try:
        return ARCHS[arch]
    except KeyError:
        raise ValueError(f"unknown arch {arch!r}; valid names: {', '.join(ARCHS)}") from None


def build_trunk(
    arch: str = "resnet50", *, weights: str | os.PathLike | None = None, last_stride: int = 1
) -> ResNet:
    """A torchvision ResNet (``fc`` = Identity) with layer4's first block at stride ``last_stride``.

    The last stride is set on the strided 3x3 conv of ``layer4[0]`` (``conv2`` in a Bottleneck,
    ``conv1`` in a BasicBlock) and on its downsample conv, not through dilation, as in the
    official code (spec 1.1). ``weights``: None, ``"imagenet"`` (torchvision's IMAGENET1K_V1) or
    the path of a torchvision ResNet state dict (``fc.*`` ignored).
    """
    spec = _arch_spec(arch)
    if last_stride not in (1, 2):
        raise ValueError(f"last_stride must be 1 or 2, got {last_stride!r}")
    if spec.width == 1.0:
        trunk = getattr(torchvision.models, arch)(weights=None)
    else:
        trunk = _NarrowResNet(spec.block, list(spec.layers), spec.width)
    trunk.fc = nn.Identity()

    block = trunk.layer4[0]
    strided = block.conv2 if isinstance(block, Bottleneck) else block.conv1
    strided.stride = (last_stride, last_stride)
    if block.downsample is not None:
        block.downsample[0].stride = (last_stride, last_stride)

    if weights is not None:
        state_dict = _imagenet_state_dict(arch) if weights == "imagenet" else _read_file(weights)
        state_dict = {k: v for k, v in state_dict.items() if not k.startswith("fc.")}
        load_checked(trunk, state_dict, source=f"{arch} weights {str(weights)!r}")
    return trunk


def _imagenet_state_dict(arch: str) -> dict[str, torch.Tensor]:
    spec = _arch_spec(arch)
    if spec.weights is None:
        raise ValueError(
            f"no ImageNet weights exist for arch {arch!r}; use weights=None or one of "
            f"{', '.join(a for a, s in ARCHS.items() if s.weights)}"
        )
    enum = getattr(torchvision.models, spec.weights).IMAGENET1K_V1
    try:
        return torch.hub.load_state_dict_from_url(
            enum.url, map_location="cpu", progress=False, check_hash=True
        )
    except (urllib.error.URLError, OSError, RuntimeError) as error:
        file_name = enum.url.rsplit("/", 1)[-1]
        cache = Path(torch.hub.get_dir()) / "checkpoints"
        raise RuntimeError(
            f"the ImageNet weights of {arch} could not be downloaded from {enum.url} ({error}). "
            f"This machine may be offline: pass weights=<path to {file_name}> (or to any "
            f"torchvision {arch} state dict file), or place {file_name} in torch hub's cache "
            f"dir {cache}"
        ) from error


def _read_file(path: str | os.PathLike) -> Mapping[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"weights file {str(path)!r} not found; weights must be None, 'imagenet' or the path "
            "of a torchvision ResNet state dict"
        )
    state_dict = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state_dict, Mapping):
        raise ValueError(f"{str(path)!r} does not hold a state dict (got {type(state_dict)})")
    return state_dict


def load_checked(
    module: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    *,
    source: str,
    hint: str = "",
    key_map: Callable[[str], str] | None = None,
) -> None:
    """Load ``state_dict`` into ``module``; raise one error listing every key problem.

    ``key_map`` maps the module's own keys to the names used in ``state_dict`` (identity when
    None); problems are reported in the state dict's names. Missing ``*.num_batches_tracked``
    entries are allowed (torch 0.4.0 checkpoints lack them; the module keeps its own value).
    Missing, unexpected and wrongly shaped keys are reported together, followed by ``hint``.
    """
    own = {(key_map(k) if key_map else k): (k, v) for k, v in module.state_dict().items()}
    missing = [k for k in own if k not in state_dict and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state_dict if k not in own]
    shapes = [
        f"{k}: expected {tuple(own[k][1].shape)}, got {tuple(v.shape)}"
        for k, v in state_dict.items()
        if k in own and tuple(own[k][1].shape) != tuple(v.shape)
    ]
    if missing or unexpected or shapes:
        lines = [f"cannot load {source}:"]
        for title, keys in (("missing keys", missing), ("unexpected keys", unexpected)):
            if keys:
                lines.append(f"  {len(keys)} {title}: {', '.join(keys)}")
        if shapes:
            lines.append(f"  {len(shapes)} shape mismatches: {'; '.join(shapes)}")
        if hint:
            lines.append(hint)
        raise ValueError("\n".join(lines))
    module.load_state_dict({own[k][0]: v for k, v in state_dict.items()}, strict=False)


def residual_branches(block: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The two branches of a torchvision ``BasicBlock`` or ``Bottleneck`` before they are added:
    (residual, shortcut), with ``block(x) == block.relu(residual + shortcut)``.

    It runs the block's own layers in the order of torchvision's ``forward``, so that an attention
    can act on the residual branch before the add (SE-ResNet, Hu et al. 2018, Fig. 3) without a
    private copy of the block. Shapes: x (B, C_in, H, W) -> two (B, C_out, H', W').
    """
    shortcut = x if block.downsample is None else block.downsample(x)
    out = block.relu(block.bn1(block.conv1(x)))
    if isinstance(block, Bottleneck):
        out = block.relu(block.bn2(block.conv2(out)))
        return block.bn3(block.conv3(out)), shortcut
    if isinstance(block, BasicBlock):
        return block.bn2(block.conv2(out)), shortcut
    raise TypeError(f"expected a torchvision BasicBlock or Bottleneck, got {type(block).__name__}")


def stage_channels(trunk: ResNet) -> dict[int, int]:
    """Output channels of each stage: {1: C1, .., 4: C4} (the last one is the feature dim D)."""
    out = {}
    for stage in range(1, 5):
        last = getattr(trunk, f"layer{stage}")[-1]
        out[stage] = (last.bn3 if isinstance(last, Bottleneck) else last.bn2).num_features
    return out


def stage_strides(last_stride: int = 1) -> dict[int, int]:
    """Total stride of each stage's output: 4, 8, 16, 16 * last_stride."""
    return {1: 4, 2: 8, 3: 16, 4: 16 * last_stride}


def feature_sizes(height: int, width: int, last_stride: int = 1) -> dict[int, tuple[int, int]]:
    """Feature-map size (h, w) after each stage for an input of ``height`` x ``width``.

    Every stride-2 layer of a ResNet (7x7/2 pad 3, maxpool 3x3/2 pad 1, 3x3/2 pad 1, 1x1/2)
    maps a side s to ceil(s / 2).
    """
    sizes, h, w = {}, height, width
    for stage, halvings in ((1, 2), (2, 1), (3, 1), (4, 1 if last_stride == 2 else 0)):
        for _ in range(halvings):
            h, w = math.ceil(h / 2), math.ceil(w / 2)
        sizes[stage] = (h, w)
    return sizes
