"""How well a spatial attention map covers the person: pure scores against person masks.

The supplementary material (section 4, Figure 1) says that CBAM and RGA-SC w/o Rel. "attend to human
bodies but are not concentrated well on the bodies, i.e., with low spatial precision", while
RGA-SC "can more precisely focus". It shows this only with pictures. These functions turn the
claim into two numbers per map, computed against a person mask (SynthReID writes one per image):

* ``mass_on_person``: the share of the attention mass that falls on person pixels,
  ``sum(a * mask) / sum(a)``. A uniform map scores the mask's area fraction, reported as
  ``chance`` so the two can be read side by side.
* ``auroc``: the attention value used as a score for "this pixel is on the person"; the area
  under the ROC curve from the Mann-Whitney U statistic with average ranks for ties. 0.5 is
  chance, 1 means every person pixel gets more attention than every background pixel. It does
  not depend on the map's scale or on any monotone transform of it (sigmoid or logit alike).

Resolution: the map is **upsampled to the mask's size** (bilinear, ``align_corners=False``), the
same upsampling as the overlays in ``rga.analysis.draw``, so a score describes the picture a reader sees
and the mask stays binary. Because the map covers the whole image, the mask may have any
resolution (the original image's or the network input's), as long as the image was resized, not
cropped. Each image is scored on its own, then the scores are averaged over the images.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import rankdata

__all__ = [
    "attention_precision",
    "attention_precision_per_image",
    "average_scores",
    "binary_auroc",
    "upsample_maps",
]


def _as_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _as_map_batch(maps) -> np.ndarray:
    """(B, h, w) or (B, 1, h, w) -> (B, h, w) float64."""
    maps = _as_numpy(maps).astype(np.float64)
    if maps.ndim == 4 and maps.shape[1] == 1:
        maps = maps[:, 0]  # (B, 1, h, w) -> (B, h, w)
    if maps.ndim != 3:
        raise ValueError(
            f"attention maps must have shape (B, h, w) or (B, 1, h, w); got {maps.shape}. "
            "For a single map pass map[None]."
        )
    return maps


def upsample_maps(maps, size: tuple[int, int]) -> np.ndarray:
    """Bilinear upsampling of attention maps to an image size.

    Args:
        maps: (B, h, w) or (B, 1, h, w), numpy or torch.
        size: (H, W) target size.
    Returns:
        (B, H, W) float64 numpy array; maps already of size (H, W) are returned unchanged
        (no interpolation round-off).
    """
    maps = _as_map_batch(maps)
    size = (int(size[0]), int(size[1]))
    if maps.shape[1:] == size:
        return maps
    t = torch.from_numpy(maps)[:, None]  # (B, h, w) -> (B, 1, h, w)
    up = F.interpolate(t, size=size, mode="bilinear", align_corners=False)
    return up[:, 0].numpy()  # (B, 1, H, W) -> (B, H, W)


def binary_auroc(scores, labels) -> float:
    """AUROC of ``scores`` for binary ``labels`` via the Mann-Whitney U statistic.

    AUROC = (sum of the positives' ranks - P (P + 1) / 2) / (P N), ranks from 1 with ties given
    their average rank, so a tie between a positive and a negative counts one half.

    Args:
        scores: (n,) real values.
        labels: (n,) bool.
    Returns:
        a float in [0, 1], or NaN when all labels are equal (the AUROC is undefined).
    """
    scores = _as_numpy(scores).reshape(-1).astype(np.float64)
    labels = _as_numpy(labels).reshape(-1).astype(bool)
    if scores.shape != labels.shape:
        raise ValueError(f"scores and labels differ in size: {scores.shape} vs {labels.shape}")
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores, method="average")
    u = ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def average_scores(per_image: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean of each per-image score over the images where it is defined (NaN if none)."""
    means = {}
    for key, values in per_image.items():
        values = np.asarray(values, dtype=np.float64)
        values = values[~np.isnan(values)]
        means[key] = float(values.mean()) if values.size else float("nan")
    return means


def attention_precision_per_image(maps, masks) -> dict[str, np.ndarray]:
    """Per-image attention precision against person masks.

    Args:
        maps: (B, h, w) or (B, 1, h, w) non-negative attention maps (numpy or torch).
        masks: (B, H, W) bool person masks (True = person), H >= 1, W >= 1, any resolution.
    Returns:
        {"mass_on_person": (B,), "auroc": (B,), "chance": (B,)} float64 arrays.
        ``chance`` is the mask's area fraction (what a uniform map gets for mass_on_person).
        NaN where a value is undefined: AUROC for an empty or full mask, mass for an all-zero map.
    """
    maps = _as_map_batch(maps)
    masks = _as_numpy(masks)
    if masks.ndim != 3:
        raise ValueError(f"masks must have shape (B, H, W); got {masks.shape}")
    if masks.dtype != bool:
        if not np.isin(masks, (0, 1)).all():
            raise ValueError(
                f"masks must be boolean (True = person); got dtype {masks.dtype} with values "
                "other than 0/1. Threshold them first, e.g. masks > 127."
            )
        masks = masks.astype(bool)
    if len(maps) != len(masks):
        raise ValueError(
            f"{len(maps)} attention maps but {len(masks)} masks; pass one mask per map"
        )
    if not np.isfinite(maps).all():
        raise ValueError("attention maps contain NaN or inf; check the model's output")
    if (maps < 0).any():
        raise ValueError(
            f"attention maps must be non-negative (sigmoid gates); got min {maps.min():.4g}. "
            "Pass sigmoid(logits), not the logits."
        )

    up = upsample_maps(maps, masks.shape[1:])  # (B, h, w) -> (B, H, W)
    total = up.sum(axis=(1, 2))
    on_person = (up * masks).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        mass = np.where(total > 0, on_person / total, np.nan)
    auroc = np.array([binary_auroc(a, m) for a, m in zip(up, masks, strict=True)])
    chance = masks.mean(axis=(1, 2), dtype=np.float64)
    return {"mass_on_person": mass, "auroc": auroc, "chance": chance}


def attention_precision(maps, masks) -> dict[str, float]:
    """Attention precision against person masks, averaged over images.

    Args:
        maps: (B, h, w) or (B, 1, h, w) non-negative attention maps (numpy or torch).
        masks: (B, H, W) bool person masks, any resolution (maps are upsampled bilinearly to it).
    Returns:
        {"mass_on_person", "auroc", "chance"}: means over the images where each is defined
        (NaN if none). ``chance`` is the mean mask area fraction, the mass_on_person of a uniform
        map; AUROC's chance level is always 0.5.
    """
    return average_scores(attention_precision_per_image(maps, masks))
