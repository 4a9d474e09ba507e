"""Load a checkpoint of the official RGA code (``ResNet50_RGA_Model``, RGA-SC) into ``ReIDNet``.

Official key layout (spec 1.1-1.6): ``backbone.{conv1,bn1,layer1..4}.*`` (torchvision names, no
fc), ``backbone.rga_att{1..4}.*`` (RGA submodule names, which ours share), ``feat_bn.*`` and
``cls.weight``. Ours: ``backbone.*``, ``attention.att{1..4}.*``, ``feat_bn.*``,
``classifier.weight``. So loading is a key rename.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from rga.model.backbone import load_checked
from rga.model.reid import ReIDNet

__all__ = ["from_official", "official_key"]

_PREFIXES = (("attention.att", "backbone.rga_att"), ("classifier.", "cls."))


def official_key(key: str) -> str:
    """Our state-dict key -> the official one (``attention.att1.x`` -> ``backbone.rga_att1.x``)."""
    for ours, theirs in _PREFIXES:
        if key.startswith(ours):
            return theirs + key.removeprefix(ours)
    return key


def from_official(
    state_dict: Mapping[str, torch.Tensor],
    height: int = 256,
    width: int = 128,
    *,
    relation: str = "factorised",
) -> ReIDNet:
    """ReIDNet(kind="rga-sc", positions=(1, 2, 3, 4), arch="resnet50") with official weights.

    ``state_dict``: the official model's state dict, optionally wrapped as ``{"state_dict": ...}``
    (the official checkpoint files) and with DataParallel's ``module.`` prefix. Entries
    ``num_batches_tracked`` may be absent (torch 0.4.0). ``height``, ``width``: the input size the
    checkpoint was trained at (the RGA weights depend on it). num_classes comes from ``cls.weight``.
    """
    if isinstance(state_dict.get("state_dict"), Mapping):
        state_dict = state_dict["state_dict"]
    state_dict = {k.removeprefix("module."): v for k, v in state_dict.items()}
    if "cls.weight" not in state_dict:
        raise ValueError(
            "cannot load the official checkpoint: key 'cls.weight' (the classifier, which gives "
            f"num_classes) is missing; keys start with {sorted({k.split('.')[0] for k in state_dict})}"
        )
    model = ReIDNet(
        int(state_dict["cls.weight"].shape[0]),
        arch="resnet50",
        kind="rga-sc",
        positions=(1, 2, 3, 4),
        height=height,
        width=width,
        relation=relation,
        last_stride=1,
    )
    hint = ""
    n1 = state_dict.get("backbone.rga_att1.gx_channel.0.weight")
    if n1 is not None and n1.dim() > 1:
        hint = (
            f"The checkpoint's rga_att1 has N = {n1.shape[1]} positions = (height/4)*(width/4) "
            f"(2048 at 256x128); this model was built for height={height}, width={width}. "
            "Pass the input size the checkpoint was trained with."
        )
    load_checked(
        model, state_dict, source="the official RGA-SC checkpoint", hint=hint, key_map=official_key
    )
    return model
