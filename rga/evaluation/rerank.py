"""k-reciprocal re-ranking (Zhong et al., "Re-ranking Person Re-identification with k-reciprocal
Encoding", CVPR 2017), written from the paper, in bounded memory.

Steps (paper section 3; equation numbers of the paper):
1. Original distance d over the joint set of the Q queries and G gallery items (N = Q + G), so that
   "p is among the k nearest of g" is defined for queries and gallery alike.
2. k-reciprocal neighbours R(p, k) = {g in N(p, k) : p in N(g, k)} (eq. 4), where N(p, k) holds
   the k + 1 nearest items, p itself included.
3. Expansion (eq. 6): R*(p, k) = R(p, k) joined with R(q, k/2) for every q in R(p, k) whose half
   set overlaps R(p, k) in more than 2/3 of its items. The paper writes ">= 2/3"; we use ">" like
   the authors' public implementation, so that results compare with published re-ranked numbers.
   k/2 is rounded half to even (10 for k1 = 20).
4. Weights (eq. 7): V[p, g] = exp(-d(p, g)) for g in R*(p, k1), 0 elsewhere; each row divided by
   its sum (as in the public implementation; the paper leaves V unnormalised).
5. Local query expansion (eq. 11): V[p] <- mean of V[g] over the k2 nearest g (p included).
6. Jaccard distance (eq. 10): d_J(p, g) = 1 - sum_j min(V[p, j], V[g, j]) / sum_j max(V[p, j], V[g, j]).
7. Final distance (eq. 12): d* = (1 - lambda) d_J + lambda d.

The scale of d is free in the paper (a Mahalanobis distance, i.e. a squared form). We follow the
convention of the public implementation: d is a squared distance ("sqeuclidean" for metric
"euclidean"; 1 - cos for "cosine", which is half the squared Euclidean distance of the
L2-normalised features) divided by its maximum over the row, so d lies in [0, 1].

Memory: nothing of size N x N is stored. The N x N distances are computed in blocks of rows and
reduced at once to the k1 + 1 nearest neighbours (ties broken by index). V is a sparse matrix
(each row has a few dozen non-zeros), kept in float32; the Jaccard numerators are accumulated
through an inverted index (for each column j, the gallery rows with V[g, j] > 0), for blocks of
queries. The (Q, G) output is the only dense matrix of that size.
"""

import numpy as np
import scipy.sparse as sp
import torch

from rga.evaluation.distance import distance_block, normalise_if_cosine, to_tensor

__all__ = ["re_ranking"]

_BLOCK_ELEMENTS = 1 << 23  # distance entries per block (32 MB in float32)
_PAIR_BLOCK = 1 << 22  # (query, gallery) contributions accumulated at once
_RERANK_METRICS = {"cosine": "cosine", "euclidean": "sqeuclidean"}


def _nearest(feats: torch.Tensor, num: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``num`` nearest items of every item, in (distance, index) order, and each row's maximum.

    Returns:
        neighbours (N, num) int64 and row_max (N,) float64 of the original distances.
    """
    n = feats.shape[0]
    neighbours = np.empty((n, num), dtype=np.int64)
    row_max = np.empty(n, dtype=np.float64)
    rows_per_block = max(1, _BLOCK_ELEMENTS // n)
    for start in range(0, n, rows_per_block):
        dist = distance_block(feats[start : start + rows_per_block], feats, metric).numpy()
        row_max[start : start + dist.shape[0]] = dist.max(axis=1)
        # every item at most as far as the num-th smallest, then the first num by (distance, index)
        kth = np.partition(dist, num - 1, axis=1)[:, num - 1 : num]  # (B, 1)
        r, c = np.nonzero(dist <= kth)
        order = np.lexsort((c, dist[r, c], r))
        r, c = r[order], c[order]
        counts = np.bincount(r, minlength=dist.shape[0])
        slot = np.arange(r.size) - (np.cumsum(counts) - counts)[r]
        keep = slot < num
        neighbours[start + r[keep], slot[keep]] = c[keep]
    return neighbours, np.maximum(row_max, np.finfo(np.float64).tiny)


def _reciprocal(neighbours: np.ndarray, k: int) -> np.ndarray:
    """(N, k+1) bool: is neighbours[p, j] (one of the k + 1 nearest of p) k-reciprocal to p."""
    n = neighbours.shape[0]
    forward = neighbours[:, : k + 1]  # (N, k+1)
    out = np.empty(forward.shape, dtype=bool)
    rows_per_block = max(1, _BLOCK_ELEMENTS // ((k + 1) ** 2))
    for start in range(0, n, rows_per_block):
        fwd = forward[start : start + rows_per_block]
        backward = forward[fwd]  # (B, k+1, k+1): the k+1 nearest of each neighbour
        me = np.arange(start, start + fwd.shape[0])[:, None, None]
        out[start : start + fwd.shape[0]] = (backward == me).any(axis=2)
    return out


def _expanded_sets(neighbours: np.ndarray, k1: int) -> sp.csr_matrix:
    """R*(p, k1) of every p as the sparsity pattern of an (N, N) CSR matrix (eq. 6)."""
    n = neighbours.shape[0]
    half = int(round(k1 / 2))  # Python rounds half to even, as numpy.around does
    recip = _reciprocal(neighbours, k1)  # (N, k1+1)
    recip_half = _reciprocal(neighbours, half)  # (N, half+1)
    sets = np.where(recip, neighbours[:, : k1 + 1], -1)  # (N, k1+1) R(p, k1), -1 = empty
    half_sets = np.where(recip_half, neighbours[:, : half + 1], -1)  # (N, half+1) R(q, k1/2)
    half_sizes = recip_half.sum(axis=1)

    rows, cols = [], []
    r, s = np.nonzero(recip)
    rows.append(r)
    cols.append(sets[r, s])
    rows_per_block = max(1, _BLOCK_ELEMENTS // ((k1 + 1) ** 2 * (half + 1)))
    for start in range(0, n, rows_per_block):
        block = sets[start : start + rows_per_block]  # (B, k1+1)
        cand = np.maximum(block, 0)  # candidates q; empty slots masked below
        cand_half = half_sets[cand]  # (B, k1+1, half+1)
        # |R(q, k1/2) & R(p, k1)|: members of q's half set found in p's set
        found = (cand_half[..., None] == block[:, None, None, :]).any(axis=3)  # (B, k1+1, half+1)
        overlap = (found & (cand_half >= 0)).sum(axis=2)  # (B, k1+1)
        accept = (block >= 0) & (overlap > 2.0 / 3.0 * half_sizes[cand])
        b, j = np.nonzero(accept)
        members = cand_half[b, j]  # (A, half+1)
        owner = np.repeat(start + b, half + 1)
        members = members.ravel()
        rows.append(owner[members >= 0])
        cols.append(members[members >= 0])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    pattern = sp.csr_matrix((np.ones(rows.size, np.float32), (rows, cols)), shape=(n, n))
    pattern.sum_duplicates()
    return pattern


def _pair_distances(feats: torch.Tensor, a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """Original distances d(a_i, b_i) of index pairs, in blocks (no N x N matrix)."""
    out = np.empty(a.size, dtype=np.float64)
    pairs_per_block = max(1, _BLOCK_ELEMENTS // feats.shape[1])
    for start in range(0, a.size, pairs_per_block):
        x = feats[torch.from_numpy(a[start : start + pairs_per_block])]
        y = feats[torch.from_numpy(b[start : start + pairs_per_block])]
        if metric == "cosine":
            d = 1.0 - (x * y).sum(dim=1)
        else:
            d = (x.pow(2).sum(1) + y.pow(2).sum(1) - 2.0 * (x * y).sum(1)).clamp_(min=0.0)
        out[start : start + d.shape[0]] = d.numpy()
    return out


def _jaccard_block(vq: sp.csr_matrix, vg_csc: sp.csc_matrix, sums_g: np.ndarray) -> np.ndarray:
    """(B, G) Jaccard distances between the rows of vq (B, N) and of the gallery matrix (G, N).

    sums_g: (1, G) row sums of the gallery matrix.
    """
    coo = vq.tocoo()
    starts, ends = vg_csc.indptr[coo.col], vg_csc.indptr[coo.col + 1]
    lengths = ends - starts  # gallery rows sharing column j with each query entry
    # ragged arange: for each query entry, the positions starts..ends-1 of its column in vg_csc
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(lengths.sum())
    q_row = np.repeat(coo.row, lengths)
    g_row = vg_csc.indices[offsets]
    mins = np.minimum(np.repeat(coo.data, lengths), vg_csc.data[offsets])
    num_q, num_g = vq.shape[0], vg_csc.shape[0]
    inter = np.bincount(q_row * num_g + g_row, weights=mins, minlength=num_q * num_g)
    inter = inter.reshape(num_q, num_g)  # sum_j min(V[p, j], V[g, j])
    sums_q = np.asarray(vq.sum(axis=1), dtype=np.float64)  # (B, 1)
    union = sums_q + sums_g - inter  # sum_j max(.) = sum V[p] + sum V[g] - sum min(.)
    return np.maximum(1.0 - inter / union, 0.0)  # float32 V: identical rows may give -1e-8


def re_ranking(
    qf,
    gf,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
    *,
    metric: str = "cosine",
) -> np.ndarray:
    """k-reciprocal re-ranked query-gallery distances (Zhong et al. 2017; see the module docstring).

    Args:
        qf: (Q, D) query features, torch or numpy.
        gf: (G, D) gallery features.
        k1: neighbourhood size of the k-reciprocal sets.
        k2: neighbourhood size of the local query expansion (1 = none).
        lambda_value: weight of the original distance in the final one.
        metric: "cosine" or "euclidean" (used squared, see the module docstring).
    Returns:
        (Q, G) float32 distances.
    """
    if metric not in _RERANK_METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {tuple(_RERANK_METRICS)}")
    q, g = to_tensor(qf, "qf"), to_tensor(gf, "gf")
    if q.shape[1] != g.shape[1]:
        raise ValueError(f"qf and gf differ in feature size: {q.shape[1]} vs {g.shape[1]}")
    num_q, n = q.shape[0], q.shape[0] + g.shape[0]
    if not 1 <= k2 <= k1 + 1 or k1 + 1 > n:
        raise ValueError(
            f"need 1 <= k2 <= k1 + 1 <= Q + G; got k1={k1}, k2={k2}, Q + G = {n}: lower k1 and k2"
        )
    dist_metric = _RERANK_METRICS[metric]
    dtype = torch.float64 if torch.float64 in (q.dtype, g.dtype) else torch.float32
    feats = normalise_if_cosine(torch.cat([q, g]).to(dtype), metric)  # (N, D)

    neighbours, row_max = _nearest(feats, k1 + 1, dist_metric)
    v = _expanded_sets(neighbours, k1).tocoo()
    d = _pair_distances(feats, v.row, v.col, dist_metric) / row_max[v.row]
    weights = np.exp(-d)
    weights /= np.bincount(v.row, weights=weights, minlength=n)[v.row]
    v = sp.csr_matrix((weights.astype(np.float32), (v.row, v.col)), shape=(n, n))
    if k2 > 1:  # V[p] <- mean of V over the k2 nearest of p
        nearest = neighbours[:, :k2]
        average = sp.csr_matrix(
            (np.full(nearest.size, 1.0 / k2, np.float32), nearest.ravel(), np.arange(n + 1) * k2),
            shape=(n, n),
        )
        v = (average @ v).tocsr()

    vq, vg_csc = v[:num_q], v[num_q:].tocsc()
    out = np.empty((num_q, g.shape[0]), dtype=np.float32)
    # blocks of queries with about _PAIR_BLOCK (query entry, gallery entry) pairs each
    col_nnz = np.diff(vg_csc.indptr)  # gallery rows per column
    entry_rows = np.repeat(np.arange(num_q), np.diff(vq.indptr))  # query row of each entry
    pairs = np.bincount(entry_rows, weights=col_nnz[vq.indices], minlength=num_q)  # (Q,)
    cum_pairs = np.concatenate([[0.0], np.cumsum(pairs)])  # pairs made by the queries before i
    sums_g = np.asarray(vg_csc.sum(axis=1), dtype=np.float64).T  # (1, G)
    start = 0
    max_rows = max(1, _BLOCK_ELEMENTS // max(g.shape[0], 1))
    while start < num_q:
        stop = int(np.searchsorted(cum_pairs, cum_pairs[start] + _PAIR_BLOCK, side="right")) - 1
        stop = min(max(stop, start + 1), start + max_rows, num_q)
        jaccard = _jaccard_block(vq[start:stop], vg_csc, sums_g)
        original = distance_block(feats[start:stop], feats[num_q:], dist_metric).numpy()
        original = original / row_max[start:stop, None]
        out[start:stop] = (1.0 - lambda_value) * jaccard + lambda_value * original
        start = stop
    return out
