"""Training losses of RGA (official spec section 2.3): label-smoothed cross-entropy and batch-hard triplet.

Both are pure functions returning a scalar tensor; the training loop adds them with weights 1 and 1.
"""

import torch
import torch.nn.functional as F

__all__ = ["cross_entropy_label_smooth", "pairwise_euclidean", "triplet_hard"]


def cross_entropy_label_smooth(
    logits: torch.Tensor, targets: torch.Tensor, epsilon: float = 0.1
) -> torch.Tensor:
    """Cross-entropy against label-smoothed targets (Szegedy et al. 2016, as in the official code).

    q = (1 - epsilon) * onehot(targets) + epsilon / K, loss = mean over the batch of
    -sum_k q_k log softmax(logits)_k. Equal to ``F.cross_entropy(logits, targets,
    label_smoothing=epsilon)``; written out so that the formula is visible.

    Args:
        logits: (B, K) unnormalised class scores.
        targets: (B,) integer class indices in [0, K).
        epsilon: smoothing mass spread uniformly over the K classes.
    Returns:
        scalar tensor.
    """
    if logits.dim() != 2 or targets.shape != logits.shape[:1]:
        raise ValueError(
            f"expected logits (B, K) and targets (B,); got {tuple(logits.shape)} and "
            f"{tuple(targets.shape)}"
        )
    num_classes = logits.shape[1]
    log_probs = F.log_softmax(logits, dim=1)  # (B, K)
    onehot = F.one_hot(targets.long(), num_classes).to(log_probs.dtype)  # (B, K)
    q = (1.0 - epsilon) * onehot + epsilon / num_classes
    return -(q * log_probs).sum(dim=1).mean()


def pairwise_euclidean(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Euclidean distances as in the official triplet loss: sqrt(clamp(|x|^2 + |y|^2 - 2 x.y, 1e-12)).

    The clamp keeps the square root differentiable at zero (the diagonal of ``x`` against itself
    becomes 1e-6 instead of 0).

    Args:
        x: (M, D), y: (N, D).
    Returns:
        (M, N) distances.
    """
    x_sq = x.pow(2).sum(dim=1, keepdim=True)  # (M, 1)
    y_sq = y.pow(2).sum(dim=1, keepdim=True).t()  # (1, N)
    sq = x_sq + y_sq - 2.0 * (x @ y.t())  # (M, N)
    return sq.clamp(min=1e-12).sqrt()


def triplet_hard(
    features: torch.Tensor, targets: torch.Tensor, margin: float = 0.3
) -> torch.Tensor:
    """Batch-hard triplet loss (Hermans et al. 2017) on unnormalised features, Euclidean distance.

    For every anchor a: d_ap = the largest distance to a sample of the same id (the anchor itself
    counts, at distance 1e-6), d_an = the smallest distance to a sample of another id;
    loss = mean_a relu(d_ap - d_an + margin). An anchor whose batch holds no other id has no
    negative and contributes 0 (the P x K sampler always provides several ids).

    The distances are computed in float32 even when the features come in lower precision (AMP).

    Args:
        features: (B, D) features, in RGA the pooled features before the BNNeck (``z``).
        targets: (B,) identity labels.
        margin: the margin of the hinge.
    Returns:
        scalar tensor.
    """
    if features.dim() != 2 or targets.shape != features.shape[:1]:
        raise ValueError(
            f"expected features (B, D) and targets (B,); got {tuple(features.shape)} and "
            f"{tuple(targets.shape)}"
        )
    feats = features.float()
    dist = pairwise_euclidean(feats, feats)  # (B, B)
    same = targets.view(-1, 1) == targets.view(1, -1)  # (B, B)
    d_ap = dist.masked_fill(~same, float("-inf")).amax(dim=1)  # (B,)
    d_an = dist.masked_fill(same, float("inf")).amin(dim=1)  # (B,), inf when no negative
    return F.relu(d_ap - d_an + margin).mean()
