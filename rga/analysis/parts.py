"""Do regions of one kind get one attention level? Spatial maps scored against body-part maps.

The supplementary material (section 4, Figure 2) reads its pictures of RGA-SC1 .. RGA-SC4 so:
"the parts/regions with similar semantics are likely to have similar attention responses" (the
legs of its third example, the backpack of its fourth, at RGA-SC2), and "for the lower layers, the
purpose of attention is to enlarge the difference of different features rather than directly
emphasize the important features", so a low module may give important regions a small weight.
SynthReID draws a part map with every image (``rga.synth.PARTS``: background, head, torso, arms,
legs, shoes, bag), which turns both readings into numbers per map:

* ``explained``: the share of the map's variance over the pixels that the parts explain, the
  between-part over the total sum of squares (the correlation ratio eta squared),
  ``sum_k n_k (mean_k - mean)^2 / sum_p (a_p - mean)^2``. 1: the map is constant on each part;
  0: every part has the same mean, so the parts say nothing about the map.
* ``explained_person``: the same with two regions only, person and background. A map that only
  picks out the person explains as much with two regions as with seven; the gap between
  ``explained`` and ``explained_person`` is what the body parts add.
* ``mean_<part>``: the map's mean over each part (NaN where the image does not show it), so a
  reader sees which parts get high and which low gates, the background included.

Resolution: as in ``rga.analysis.precision``, the map is upsampled bilinearly to the part map's
size (``align_corners=False``), so a score describes the picture a reader sees. Each image is
scored on its own; ``part_scores`` averages over the images where a score is defined.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from rga.analysis.precision import average_scores, upsample_maps
from rga.synth import PARTS

__all__ = ["PARTS", "correlation_ratio", "part_scores", "part_scores_per_image"]


def correlation_ratio(values: np.ndarray, labels: np.ndarray, num_labels: int) -> float:
    """Between-group over total sum of squares of ``values`` grouped by ``labels``.

    Args:
        values: (n,) real values.
        labels: (n,) integers in [0, num_labels).
        num_labels: the number of groups.
    Returns:
        a float in [0, 1]; NaN when the values are all equal (no variance to explain).
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    mean = values.mean()
    total = float(((values - mean) ** 2).sum())
    if total <= 1e-12 * max(1.0, float((values**2).sum())):
        return float("nan")
    counts = np.bincount(labels, minlength=num_labels)
    sums = np.bincount(labels, weights=values, minlength=num_labels)
    present = counts > 0
    group_means = sums[present] / counts[present]
    between = float((counts[present] * (group_means - mean) ** 2).sum())
    return min(1.0, between / total)


def part_scores_per_image(maps, parts, names: Sequence[str] = PARTS) -> dict[str, np.ndarray]:
    """Per-image part scores of spatial attention maps.

    Args:
        maps: (B, h, w) or (B, 1, h, w) attention maps (numpy or torch).
        parts: (B, H, W) integer part maps, values in [0, len(names)), 0 = background
            (``rga.synth.load_part_mask``), any resolution: the maps are upsampled to it.
        names: the part names by label value.
    Returns:
        {"explained": (B,), "explained_person": (B,), "mean_<name>": (B,) for every name}, float64;
        NaN where undefined (a constant map; a part the image does not show).
    """
    parts = parts.detach().cpu().numpy() if isinstance(parts, torch.Tensor) else np.asarray(parts)
    if parts.ndim != 3:
        raise ValueError(f"part maps must have shape (B, H, W); got {parts.shape}")
    if not np.issubdtype(parts.dtype, np.integer):
        raise ValueError(f"part maps must hold integer labels; got dtype {parts.dtype}")
    if parts.size and (parts.min() < 0 or parts.max() >= len(names)):
        raise ValueError(
            f"part labels must lie in 0..{len(names) - 1} ({', '.join(names)}); "
            f"got {parts.min()}..{parts.max()}"
        )
    up = upsample_maps(maps, parts.shape[1:])  # (B, h, w) or (B, 1, h, w) -> (B, H, W)
    if len(up) != len(parts):
        raise ValueError(f"{len(up)} attention maps but {len(parts)} part maps; pass one per map")
    if not np.isfinite(up).all():
        raise ValueError("attention maps contain NaN or inf; check the model's output")
    scores: dict[str, np.ndarray] = {
        "explained": np.array(
            [correlation_ratio(a, p, len(names)) for a, p in zip(up, parts, strict=True)]
        ),
        "explained_person": np.array(
            [correlation_ratio(a, p > 0, 2) for a, p in zip(up, parts, strict=True)]
        ),
    }
    flat_maps, flat_parts = up.reshape(len(up), -1), parts.reshape(len(parts), -1)
    for label, name in enumerate(names):
        inside = flat_parts == label  # (B, H*W)
        count = inside.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            scores[f"mean_{name}"] = np.where(
                count > 0, (flat_maps * inside).sum(axis=1) / count, np.nan
            )
    return scores


def part_scores(maps, parts, names: Sequence[str] = PARTS) -> dict[str, float]:
    """:func:`part_scores_per_image` averaged over the images where each score is defined."""
    return average_scores(part_scores_per_image(maps, parts, names))
