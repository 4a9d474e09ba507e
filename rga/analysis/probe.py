"""Attention probe: the maps a trained ReIDNet applies, through an explicit accessor.

Like DINO's ``get_last_selfattention``, the maps are recomputed by the attention modules
themselves (``module.attention_maps(x)`` and ``module.relation_row_col(x, index)``, the same
computation as their ``forward``) on the exact inputs they see inside the network. The inputs
are captured with forward pre-hooks, which are removed again before returning; the network's
forward is stopped once the last requested stage has been reached. Drawing lives in
``rga.analysis.draw``; scoring against person masks in ``rga.analysis.precision``.

Everything runs in eval mode (BN uses its running statistics, as at test time) without
gradients, and the model's train/eval mode is restored afterwards. Results are **numpy float32
arrays on the CPU**: ready for plotting, scoring and saving as small ``.npy`` files.

Used for supplementary Figures 1 and 2 (spatial maps of attention4, and of attention1-4), for
the "spatial precision" claim of its section 4 (``score_model_attention``), for its Figure 2
reading that regions of one kind get one attention level (``score_model_parts``), and for the
relation rows and columns the book's probe page draws at fixed positions (``relations_at``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from rga.analysis.parts import part_scores_per_image
from rga.analysis.precision import (
    attention_precision,
    attention_precision_per_image,
    average_scores,
)
from rga.model.rga import AttentionMaps

__all__ = [
    "AttentionMaps",
    "RelationMaps",
    "attention_precision",
    "grid_cell",
    "has_spatial_relations",
    "probe",
    "relation_maps",
    "relation_matrix",
    "relations_at",
    "score_model_attention",
    "score_model_parts",
]


class _StopForward(Exception):
    """Raised by the capture hook once every requested stage input is stored."""


def _unwrap(model: nn.Module) -> nn.Module:
    if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        return model.module
    return model


def _attention_modules(model: nn.Module, stages: Iterable[int] | None) -> dict[int, nn.Module]:
    """{stage: module} for the requested stages (all present ones if None), in stage order."""
    present = getattr(_unwrap(model), "attention_modules", None)
    if present is None:
        raise TypeError(
            f"{type(model).__name__} has no `attention_modules`; pass an rga.model.ReIDNet"
        )
    if stages is None:
        return dict(sorted(present.items()))
    stages = [stages] if isinstance(stages, int) else list(stages)
    missing = [s for s in stages if s not in present]
    if missing:
        raise KeyError(
            f"no attention module at stage(s) {missing}; this model has attention at stages "
            f"{sorted(present)} (build it with positions=... to add others)"
        )
    return {s: present[s] for s in sorted(set(stages))}


def _check_images(images: Tensor) -> None:
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] != 3:
        shape = tuple(images.shape) if hasattr(images, "shape") else type(images).__name__
        raise ValueError(
            f"images must be a (B, 3, H, W) tensor of normalised images; got {shape}. "
            "For one image pass image[None]."
        )


def _capture_inputs(
    model: nn.Module, images: Tensor, modules: dict[int, nn.Module]
) -> dict[int, tuple]:
    """Run ``model`` on ``images`` (in its current mode and grad mode); each module's call
    arguments: (x,) for a module after a stage, (x, stage) for one inside it (``SEStage``)."""
    _check_images(images)
    if not modules:
        return {}
    captured: dict[int, tuple] = {}
    last = max(modules)

    def hook_for(stage: int):
        def hook(_module, args):
            captured[stage] = args
            if stage == last:
                raise _StopForward

        return hook

    handles = [m.register_forward_pre_hook(hook_for(s)) for s, m in modules.items()]
    device = next(model.parameters()).device
    try:
        model(images.to(device=device, dtype=torch.float32))
    except _StopForward:
        pass
    finally:
        for handle in handles:
            handle.remove()
    missing = sorted(set(modules) - set(captured))
    if missing:
        raise RuntimeError(
            f"the attention module(s) at stage(s) {missing} were not called in the forward pass"
        )
    return captured


def _numpy(x: Tensor | None) -> np.ndarray | None:
    return None if x is None else x.detach().float().cpu().numpy()


@contextmanager
def _eval_no_grad(model: nn.Module) -> Iterator[nn.Module]:
    """The unwrapped model in eval mode without autograd; its train/eval mode is restored after."""
    net = _unwrap(model)
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            yield net
    finally:
        net.train(was_training)


def probe(
    model: nn.Module, images: Tensor, stages: Iterable[int] | int | None = None
) -> dict[int, AttentionMaps]:
    """The attention gates each attention module applies to ``images``.

    Args:
        model: a ReIDNet (``model.attention_modules`` = {stage: module}).
        images: (B, 3, H, W) normalised images at the size the model was built for.
        stages: stages to probe (default: every stage with attention).
    Returns:
        {stage: AttentionMaps(spatial, channel)} with numpy float32 arrays in (0, 1):
        spatial (B, h, w) (the module's (B, 1, h, w) squeezed) or None, channel (B, C) or None.
        A baseline model (no attention) gives {}; a module without gates (non-local) gives
        AttentionMaps(None, None); SE gives the channel gate of each stage's last block.
    """
    modules = _attention_modules(model, stages)
    with _eval_no_grad(model) as net:
        inputs = _capture_inputs(net, images, modules)
        maps = {s: modules[s].attention_maps(*inputs[s]) for s in modules}
    return {
        s: AttentionMaps(
            spatial=None if m.spatial is None else _numpy(m.spatial[:, 0]),  # (B,1,h,w)->(B,h,w)
            channel=_numpy(m.channel),
        )
        for s, m in maps.items()
    }


def relation_maps(
    model: nn.Module, images: Tensor, stage: int, index: int | tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Row R[i, :] and column R[:, i] of the spatial affinity R = Q^T K at one stage.

    Works with either relation path (the module computes them from Q and K; R is never built).

    Args:
        model: a ReIDNet with RGA spatial attention (with relations) at ``stage``.
        images: (B, 3, H, W) normalised images.
        stage: 1..4.
        index: position i in raster order (row * w + col) on the stage's (h, w) grid, or (row, col).
    Returns:
        (row, col): numpy float32 arrays (B, h, w); row[b, r, c] = R[i, (r, c)],
        col[b, r, c] = R[(r, c), i]. Unbounded values (no softmax in RGA).
    """
    module = _attention_modules(model, [stage])[stage]
    if not hasattr(module, "relation_row_col"):
        raise TypeError(
            f"the attention module at stage {stage} ({type(module).__name__}) has no relations; "
            "relation maps need an RGA module with spatial relations (kind 'rga-sc' or 'rga-s')"
        )
    if isinstance(index, (tuple, list, np.ndarray)):
        index = (int(index[0]), int(index[1]))
    else:
        index = int(index)
    with _eval_no_grad(model) as net:
        (x,) = _capture_inputs(net, images, {stage: module})[stage]
        row, col = module.relation_row_col(x, index)
    return _numpy(row), _numpy(col)


def relation_matrix(model: nn.Module, images: Tensor, stage: int) -> np.ndarray:
    """The whole spatial affinity R = Q^T K at one stage, the matrix the materialised relation
    path builds (``relation="materialised"`` in ``rga.model.rga``); row i is
    ``relation_maps(..., index=i)[0]`` flattened, column i its ``[1]``.

    Args:
        model: a ReIDNet with RGA spatial attention (with relations) at ``stage``.
        images: (B, 3, H, W) normalised images.
        stage: 1..4.
    Returns:
        numpy float32 (B, N, N), N = h * w in raster order: R[b, i, j] = <Q_i, K_j>.
    """
    module = _attention_modules(model, [stage])[stage]
    if not has_spatial_relations(model, stage):
        raise TypeError(
            f"the attention module at stage {stage} ({type(module).__name__}) has no spatial "
            "relations; the relation matrix needs an RGA module of kind 'rga-sc' or 'rga-s'"
        )
    with _eval_no_grad(model) as net:
        (x,) = _capture_inputs(net, images, {stage: module})[stage]
        # the same queries and keys as the module's relation_row_col
        if module.embedding == "none":
            q = k = x.flatten(2)  # (B, C, h, w) -> (B, C, N)
        else:
            q = module.theta_spatial(x).flatten(2)  # (B, C', h, w) -> (B, C', N)
            k = module.phi_spatial(x).flatten(2) if module.embedding == "asymmetric" else q
        r = q.transpose(1, 2) @ k  # (B, N, C') @ (B, C', N) -> (B, N, N)
    return _numpy(r)


def grid_cell(y: float, x: float, height: int, width: int) -> tuple[int, int]:
    """The cell (row, col) of a (height, width) grid that holds the point (y, x), given as
    fractions of the image height and width (the last cell for y or x = 1)."""
    return min(int(y * height), height - 1), min(int(x * width), width - 1)


def has_spatial_relations(model: nn.Module, stage: int) -> bool:
    """Whether the attention module at ``stage`` has spatial relations (RGA-S, RGA-SC)."""
    module = getattr(_unwrap(model), "attention_modules", {}).get(stage)
    return bool(getattr(module, "use_spatial", False) and getattr(module, "use_relation", False))


class RelationMaps(NamedTuple):
    """Relation rows and columns of one stage at a few positions: row (B, P, h, w) = R[i_p, :],
    col (B, P, h, w) = R[:, i_p], and cells (P, 2), the (row, col) of each i_p on the grid."""

    row: np.ndarray
    col: np.ndarray
    cells: np.ndarray


def relations_at(
    model: nn.Module,
    images: Tensor,
    points: Sequence[tuple[float, float]],
    stages: Iterable[int] | None = None,
) -> dict[int, RelationMaps]:
    """Relation rows and columns at fixed points of the image, at every stage with relations.

    Args:
        model: a ReIDNet.
        images: (B, 3, H, W) normalised images.
        points: P positions (y, x) as fractions of the image height and width; at each stage the
            position i is the grid cell holding the point (``grid_cell``).
        stages: stages to probe (default: all); stages without spatial relations are left out.
    Returns:
        {stage: RelationMaps} with float32 arrays; {} for a model without spatial relations.
    """
    modules = _attention_modules(model, stages)
    relations = {}
    for stage in modules:
        if not has_spatial_relations(model, stage):
            continue
        module = modules[stage]
        cells = np.array([grid_cell(y, x, module.height, module.width) for y, x in points])
        rows, cols = zip(
            *(relation_maps(model, images, stage, tuple(c)) for c in cells), strict=True
        )
        # P arrays (B, h, w) -> (B, P, h, w)
        relations[stage] = RelationMaps(np.stack(rows, 1), np.stack(cols, 1), cells)
    return relations


def score_model_parts(
    model: nn.Module, images: Tensor, parts, *, stages=None, batch_size: int = 32
) -> dict[int, dict[str, float]]:
    """Part scores of each stage's spatial maps against part maps (``rga.analysis.parts``):
    ``score_model_attention`` with ``per_image=part_scores_per_image``.

    Returns:
        {stage: {"explained", "explained_person", "mean_background", "mean_head", ...}}.
    """
    return score_model_attention(
        model, images, parts, stages=stages, batch_size=batch_size, per_image=part_scores_per_image
    )


def score_model_attention(
    model: nn.Module,
    images: Tensor,
    masks,
    *,
    stages: Iterable[int] | None = None,
    batch_size: int = 32,
    per_image: Callable[..., dict[str, np.ndarray]] = attention_precision_per_image,
) -> dict[int, dict[str, float]]:
    """Spatial attention precision of each stage against person masks (or another score).

    Args:
        model: a ReIDNet.
        images: (B, 3, H, W) normalised images.
        masks: (B, H', W') bool person masks (any resolution: the maps are upsampled to it), or
            what ``per_image`` scores against.
        stages: stages to score (default: all with attention).
        batch_size: images per forward pass.
        per_image: ``(maps (b, h, w), masks (b, H', W')) -> {name: (b,) scores}``; default
            ``attention_precision_per_image``.
    Returns:
        {stage: {"mass_on_person", "auroc", "chance"}} (see ``rga.analysis.precision``; or
        ``per_image``'s names), means over the images; stages without a spatial map
        (channel-only attention) are left out, so a baseline or RGA-C model gives {}.
    """
    _check_images(images)
    if len(masks) != len(images):
        raise ValueError(f"{len(images)} images but {len(masks)} masks; pass one mask per image")
    collected: dict[int, dict[str, list[np.ndarray]]] = {}
    for start in range(0, len(images), batch_size):
        maps = probe(model, images[start : start + batch_size], stages)
        for stage, m in maps.items():
            if m.spatial is None:
                continue
            scores = per_image(m.spatial, masks[start : start + batch_size])
            for key, values in scores.items():
                collected.setdefault(stage, {}).setdefault(key, []).append(values)
    return {
        stage: average_scores({key: np.concatenate(chunks) for key, chunks in scores.items()})
        for stage, scores in collected.items()
    }


def __getattr__(name: str):
    # Drawing needs matplotlib (an optional dependency): import it only when asked for.
    if name == "overlay":
        from rga.analysis.draw import overlay

        return overlay
    raise AttributeError(f"module 'rga.analysis.probe' has no attribute {name!r}")
