"""Query-gallery distance matrices (official spec section 3: cosine distance on L2-normalised features)."""

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["METRICS", "compute_distance", "distance_block", "to_tensor"]

METRICS = ("cosine", "euclidean", "sqeuclidean")
_BLOCK_ELEMENTS = 1 << 24  # output elements computed per block (64 MB in float32)


def to_tensor(x, name: str = "features") -> torch.Tensor:
    """(N, D) features from torch or numpy -> CPU tensor, float32 unless already float64."""
    t = x.detach().cpu() if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x))
    if t.dim() != 2:
        raise ValueError(f"{name} must be (N, D); got shape {tuple(t.shape)}")
    return t if t.dtype == torch.float64 else t.float()


def distance_block(q: torch.Tensor, g: torch.Tensor, metric: str) -> torch.Tensor:
    """(M, D) x (N, D) -> (M, N) distances; for "cosine" the inputs must be L2-normalised already."""
    if metric == "cosine":
        return 1.0 - q @ g.t()
    sq = q.pow(2).sum(1, keepdim=True) + g.pow(2).sum(1)[None, :] - 2.0 * (q @ g.t())  # (M, N)
    sq = sq.clamp_(min=0.0)
    return sq if metric == "sqeuclidean" else sq.sqrt_()


def normalise_if_cosine(x: torch.Tensor, metric: str) -> torch.Tensor:
    return F.normalize(x, p=2, dim=1, eps=1e-12) if metric == "cosine" else x


def compute_distance(qf, gf, metric: str = "cosine") -> np.ndarray:
    """Distances between query and gallery features.

    metric "cosine": 1 - cos(q, g), features L2-normalised with eps 1e-12 as ``F.normalize`` does
    (the official evaluation). "euclidean": plain Euclidean distance |q - g| (not squared: the
    ranking is the same either way, the values are not; torchreid's "euclidean" is squared).
    "sqeuclidean": squared Euclidean distance. The matrix is computed in blocks of query rows so
    that temporary memory stays bounded.

    Args:
        qf: (Q, D) query features, torch tensor or numpy array.
        gf: (G, D) gallery features.
        metric: one of "cosine", "euclidean", "sqeuclidean".
    Returns:
        (Q, G) np.ndarray, float32 (float64 if the features are float64).
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {METRICS}")
    q, g = to_tensor(qf, "qf"), to_tensor(gf, "gf")
    if q.shape[1] != g.shape[1]:
        raise ValueError(f"qf and gf differ in feature size: {q.shape[1]} vs {g.shape[1]}")
    dtype = torch.float64 if torch.float64 in (q.dtype, g.dtype) else torch.float32
    q, g = normalise_if_cosine(q.to(dtype), metric), normalise_if_cosine(g.to(dtype), metric)
    out = torch.empty(q.shape[0], g.shape[0], dtype=dtype)
    rows = max(1, _BLOCK_ELEMENTS // max(g.shape[0], 1))
    for start in range(0, q.shape[0], rows):
        out[start : start + rows] = distance_block(q[start : start + rows], g, metric)
    return out.numpy()
