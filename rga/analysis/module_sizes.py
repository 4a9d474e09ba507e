"""The RGA modules' internal sizes, read from a built model: one row per stage with a module.

The official module was written for ResNet-50 at 256x128 (spec 1.2): N = h*w positions per
stage, C' = C // 8 channels feeding the spatial affinities, N' = N // 8 relation-embedding units,
and gate heads of (1 + N') // 8 and (1 + C') // 8 hidden units. A smaller network or input
shrinks all of them (at 96x48 a spatial head of 1 hidden unit from conv3_x on), which is why
these widths are worth seeing before comparing verdicts across scales. The table is read from the
layers the model holds (``theta_spatial``, ``gg_spatial``, ``W_spatial``, ...), never re-derived
from the ratios, so it shows what the network really computes with.

``rga_sizes(make_config("pretrained"))`` builds the model on the meta device (no memory, no
weights read), so it takes well under a second even for ResNet-50.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import torch
from torch import nn

from rga.engine.build import build_model
from rga.engine.config import RunConfig
from rga.model import ReIDNet, RGAModule
from rga.model.backbone import STAGE_NAMES
from rga.model.cbam import CBAM

__all__ = ["SIZE_COLUMNS", "cbam_sizes", "rga_sizes"]

# Columns of `rga_sizes`, after "stage": integers, <NA> where the module lacks the layer.
SIZE_COLUMNS = (
    "channels",  # C, the stage's output channels
    "positions",  # N = h * w of the stage's feature map (the size the module is built for)
    "affinity_channels",  # C': output channels of theta_spatial, the channels of R = Q^T K
    "relation_units",  # N': output channels of gg_spatial, the spatial relation embedding
    "spatial_head_in",  # input channels of W_spatial (1 + N' with appearance and relations)
    "spatial_head_hidden",  # hidden units of W_spatial
    "channel_affinity_positions",  # N': output channels of theta_channel
    "channel_head_in",  # input channels of W_channel (1 + C')
    "channel_head_hidden",  # hidden units of W_channel
)


def rga_sizes(config_or_model: RunConfig | ReIDNet) -> pd.DataFrame:
    """One row per stage holding an RGA module: ``stage`` ("conv2_x".."conv5_x") and the
    `SIZE_COLUMNS`, each read from the module's layers.

    ``config_or_model``: a ``ReIDNet`` (read as it is), or a ``RunConfig`` whose model is built
    on the meta device with ``weights=None`` (the sizes do not depend on the weights).
    A model without RGA modules gives an empty table with these columns.
    """
    model = _meta_model(config_or_model) if isinstance(config_or_model, RunConfig) else None
    model = config_or_model if model is None else model
    if not isinstance(model, ReIDNet):
        raise TypeError(
            f"rga_sizes takes a RunConfig or a ReIDNet, got {type(config_or_model).__name__}"
        )
    rows = [
        {"stage": STAGE_NAMES[stage], **_module_sizes(module)}
        for stage, module in sorted(model.attention_modules.items())
        if isinstance(module, RGAModule)
    ]
    table = pd.DataFrame(rows, columns=["stage", *SIZE_COLUMNS])
    return table.astype({name: "Int64" for name in SIZE_COLUMNS})


def cbam_sizes(config_or_model: RunConfig | ReIDNet) -> pd.DataFrame:
    """One row per stage holding a CBAM module with its channel MLP: ``stage``, ``channels`` (C)
    and ``mlp_hidden`` (the shared MLP's hidden units, C // r), read from the layers."""
    model = _meta_model(config_or_model) if isinstance(config_or_model, RunConfig) else None
    model = config_or_model if model is None else model
    rows = [
        {"stage": STAGE_NAMES[stage], "channels": module.mlp[0].in_features,
         "mlp_hidden": module.mlp[0].out_features}
        for stage, module in sorted(model.attention_modules.items())
        if isinstance(module, CBAM) and module.use_channel
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["stage", "channels", "mlp_hidden"])


def _meta_model(config: RunConfig) -> ReIDNet:
    """The model of `config` without weights or memory (parameters on the meta device)."""
    with torch.device("meta"):
        return build_model(dataclasses.replace(config, weights=None), num_classes=1)


def _module_sizes(module: RGAModule) -> dict[str, int | None]:
    """The widths of one module's layers (None for a layer the variant does not build)."""
    return {
        "channels": module.in_channels,
        "positions": module.height * module.width,
        "affinity_channels": _out(module, "theta_spatial"),
        "relation_units": _out(module, "gg_spatial"),
        "spatial_head_in": _in(module, "W_spatial"),
        "spatial_head_hidden": _out(module, "W_spatial"),
        "channel_affinity_positions": _out(module, "theta_channel"),
        "channel_head_in": _in(module, "W_channel"),
        "channel_head_hidden": _out(module, "W_channel"),
    }


def _first_conv(module: RGAModule, name: str) -> nn.Conv2d | None:
    """The first 1x1 conv of sub-block `name` (a conv-BN-ReLU or a gate head), if built."""
    block = getattr(module, name, None)
    return None if block is None else block[0]


def _out(module: RGAModule, name: str) -> int | None:
    conv = _first_conv(module, name)
    return None if conv is None else conv.out_channels


def _in(module: RGAModule, name: str) -> int | None:
    conv = _first_conv(module, name)
    return None if conv is None else conv.in_channels
