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
    state_dict = _official_tensors(state_dict)
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
    load_checked(
        model,
        state_dict,
        source="the official RGA-SC checkpoint",
        hint=_input_size_hint(model, state_dict),
        key_map=official_key,
    )
    return model


def _official_tensors(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state dict unwrapped from ``{"state_dict": ...}``, ``module.`` removed; a TypeError
    naming the problem when it is not a mapping of tensors."""
    if isinstance(state_dict, torch.nn.Module):
        raise TypeError(
            f"state_dict must be a state dict; got the module {type(state_dict).__name__}: "
            "pass model.state_dict()"
        )
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"state_dict must be a mapping of key -> tensor; got {type(state_dict).__name__}: "
            "load the official checkpoint first, torch.load(path, map_location='cpu')"
        )
    if isinstance(state_dict.get("state_dict"), Mapping):
        state_dict = state_dict["state_dict"]
    not_str = [k for k in state_dict if not isinstance(k, str)]
    if not_str:
        raise TypeError(
            f"state_dict keys must be strings such as 'backbone.conv1.weight'; got {not_str[0]!r} "
            f"({type(not_str[0]).__name__}): pass the official model's state dict"
        )
    state_dict = {k.removeprefix("module."): v for k, v in state_dict.items()}
    bad = {k: v for k, v in state_dict.items() if not isinstance(v, torch.Tensor)}
    if bad:
        listed = ", ".join(f"{k!r} ({type(v).__name__})" for k, v in list(bad.items())[:8])
        more = f" and {len(bad) - 8} more" if len(bad) > 8 else ""
        nested = [k for k, v in bad.items() if isinstance(v, Mapping)]
        fix = (
            f"if the state dict is inside this checkpoint, pass checkpoint[{nested[0]!r}]"
            if nested
            else "convert numpy arrays with torch.from_numpy, or pass the model's state dict"
        )
        raise TypeError(
            f"state_dict values must be tensors; {len(bad)} are not: {listed}{more}; {fix}"
        )
    return state_dict


def _input_size_hint(model: ReIDNet, state_dict: Mapping[str, torch.Tensor]) -> str:
    """A hint about height/width when the checkpoint's stage-1 RGA size differs from the model's
    (the RGA weights depend on the input size), else "" (no hint for unrelated key errors)."""
    key = "gx_channel.0.weight"  # (N', N, 1, 1): N = positions of the stage-1 map
    theirs = state_dict.get(f"backbone.rga_att1.{key}")
    ours = model.state_dict()[f"attention.att1.{key}"]
    if theirs is None or theirs.dim() < 2 or theirs.shape[1] == ours.shape[1]:
        return ""
    return (
        f"The checkpoint's rga_att1 has N = {theirs.shape[1]} positions = (height/4)*(width/4) "
        f"(2048 at 256x128); this model was built for height={model.height}, "
        f"width={model.width} (N = {ours.shape[1]}). "
        "Pass the input size the checkpoint was trained with."
    )
