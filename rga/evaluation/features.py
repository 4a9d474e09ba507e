"""Feature extraction and the whole evaluation of a model (official spec section 3).

The official code evaluates both features of the head: ``z`` (pooled, before the BNNeck; the
paper's choice on CUHK03 and MSMT17) and ``z_hat`` (after the BNNeck; its choice on Market-1501).
Any model whose eval-mode output has attributes ``z`` and ``z_hat`` works; nothing here imports
the model or the trainer.
"""

from typing import NamedTuple

import numpy as np
import torch

from rga.evaluation.distance import compute_distance
from rga.evaluation.ranking import evaluate_rank
from rga.evaluation.rerank import re_ranking

__all__ = ["FEATURE_NAMES", "Features", "evaluate_model", "extract_features"]

FEATURE_NAMES = ("z", "z_hat")


class Features(NamedTuple):
    """Features of one split: z, z_hat (N, D) float32 CPU tensors; pids, camids (N,) int64 arrays."""

    z: torch.Tensor
    z_hat: torch.Tensor
    pids: np.ndarray
    camids: np.ndarray


def _labels(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.cpu().numpy()
    return np.asarray(x, dtype=np.int64).reshape(-1)


def extract_features(model: torch.nn.Module, loader, device="cpu") -> Features:
    """Run ``model`` in eval mode without gradients over ``loader`` and collect its features.

    Args:
        model: maps a batch (B, 3, H, W) to an output with attributes ``z`` and ``z_hat`` (B, D).
        loader: iterable of batches ``(images, pids, camids, *rest)``.
        device: where the images are sent; the features come back to the CPU.
    Returns:
        Features. The model's train/eval mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    z, z_hat, pids, camids = [], [], [], []
    try:
        with torch.no_grad():
            for batch in loader:
                images, batch_pids, batch_camids = batch[0], batch[1], batch[2]
                out = model(images.to(device))
                for name in FEATURE_NAMES:
                    if not hasattr(out, name):
                        raise TypeError(
                            f"the model output has no attribute {name!r}; evaluation needs an "
                            f"output with fields {FEATURE_NAMES} (e.g. rga.ReIDOutput)"
                        )
                z.append(out.z.float().cpu())
                z_hat.append(out.z_hat.float().cpu())
                pids.append(_labels(batch_pids))
                camids.append(_labels(batch_camids))
    finally:
        model.train(was_training)
    if not z:
        raise ValueError("the loader yielded no batch")
    return Features(torch.cat(z), torch.cat(z_hat), np.concatenate(pids), np.concatenate(camids))


def evaluate_model(
    model: torch.nn.Module,
    query_loader,
    gallery_loader,
    device="cpu",
    metric: str = "cosine",
    rerank: bool = False,
    *,
    protocol: str = "market",
    ap: str = "step",
) -> dict:
    """Extract query and gallery features, rank, and score both feature types.

    Args:
        model, device: as in :func:`extract_features`.
        query_loader, gallery_loader: loaders of the query and gallery splits.
        metric: "cosine" (official) or "euclidean", see :func:`compute_distance`.
        rerank: apply k-reciprocal re-ranking (default parameters) before scoring.
        protocol, ap: passed to :func:`evaluate_rank`.
    Returns:
        {"z": {...}, "z_hat": {...}}, each with "R1", "R5", "R10", "mAP", "mINP" in percent
        (floats) and the counts "num_valid_queries", "num_skipped_queries".
    """
    query = extract_features(model, query_loader, device)
    gallery = extract_features(model, gallery_loader, device)
    results = {}
    for name in FEATURE_NAMES:
        qf, gf = getattr(query, name), getattr(gallery, name)
        if rerank:
            distmat = re_ranking(qf, gf, metric=metric)
        else:
            distmat = compute_distance(qf, gf, metric=metric)
        scores = evaluate_rank(
            distmat,
            query.pids,
            gallery.pids,
            query.camids,
            gallery.camids,
            max_rank=10,
            protocol=protocol,
            ap=ap,
        )
        cmc = scores["cmc"]
        results[name] = {
            "R1": 100.0 * float(cmc[0]),
            "R5": 100.0 * float(cmc[4]),
            "R10": 100.0 * float(cmc[9]),
            "mAP": 100.0 * scores["mAP"],
            "mINP": 100.0 * scores["mINP"],
            "num_valid_queries": scores["num_valid_queries"],
            "num_skipped_queries": scores["num_skipped_queries"],
        }
    return results
