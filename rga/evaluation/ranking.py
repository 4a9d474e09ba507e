"""Ranking metrics of person re-identification: CMC, mAP and mINP from a query-gallery distance matrix.

Protocol (official spec section 3; Zheng et al. 2015 for Market-1501): for each query, gallery items
with the query's identity *and* camera are removed, and so are junk items (pid -1); pid 0
(Market-1501's distractors) is an ordinary identity. The remaining items are ranked by distance.
A query without any remaining item of its identity is skipped and counted.

Ties: items at equal distance are ranked by gallery index, the order of a stable
``np.argsort(distmat[i])``. This convention decides CMC, mINP and the ``ap="step"`` AP; the
``ap="trapezoid"`` AP treats each tie as one threshold block, as scikit-learn does.

Speed: no argsort. Queries are processed in chunks of rows; per chunk the valid distances up to
the query's last positive are sorted (a value sort, several times cheaper than an argsort) and the
rank of every positive is found by a batched binary search. Only positives that tie with another
valid item need an extra count, done on those pairs alone.
"""

from typing import NamedTuple

import numpy as np
import torch

__all__ = ["evaluate_rank", "top_k_gallery"]

PROTOCOLS = ("market", "cuhk03-classic")
AP_KINDS = ("step", "trapezoid")
_TIE_BLOCK = 1 << 22  # elements per block when counting ties


class _Positives(NamedTuple):
    """Per query row of a chunk, the positives sorted by (distance, gallery index); (C, M) arrays.

    Entries at slots >= count are padding.
    """

    count: np.ndarray  # (C,) number of positives
    rank: np.ndarray  # 0-based rank among valid items, ties broken by gallery index
    less: np.ndarray  # valid items strictly closer
    leq: np.ndarray  # valid items at most as far (the positive included)
    pos_less: np.ndarray  # positives strictly closer
    pos_leq: np.ndarray  # positives at most as far


def _count_below(sorted_rows: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, how many entries are < and <= each value: (C, N) sorted rows, (C, M) values.

    One batched binary search: ``x <= v`` is ``x < nextafter(v, inf)`` for floats.
    """
    both = np.concatenate([values, np.nextafter(values, np.inf)], axis=1)  # (C, 2M)
    found = torch.searchsorted(torch.from_numpy(sorted_rows), torch.from_numpy(both)).numpy()
    width = values.shape[1]
    return found[:, :width], found[:, width:]


def _rank_positives(dist: np.ndarray, valid: np.ndarray, positive: np.ndarray) -> _Positives:
    """Rank the positives of each row among the valid items of that row.

    Args:
        dist: (C, G) finite distances.
        valid: (C, G) bool, gallery items that take part in the ranking.
        positive: (C, G) bool, valid items of the query's identity.
    """
    num_rows, num_gallery = dist.shape
    flat = np.flatnonzero(positive)  # row-major: columns ascending within a row
    rows, cols = np.divmod(flat, num_gallery)
    count = np.bincount(rows, minlength=num_rows)
    width = max(int(count.max(initial=0)), 1)
    slot = np.arange(rows.size) - (np.cumsum(count) - count)[rows]

    # (C, M) padded positives, then sorted by distance; the stable sort keeps gallery order in ties
    pos_dist = np.full((num_rows, width), np.inf, dtype=dist.dtype)
    pos_dist[rows, slot] = dist.ravel()[flat]
    pos_index = np.full((num_rows, width), num_gallery, dtype=np.int64)
    pos_index[rows, slot] = cols
    order = np.argsort(pos_dist, axis=1, kind="stable")
    pos_dist = np.take_along_axis(pos_dist, order, axis=1)
    pos_index = np.take_along_axis(pos_index, order, axis=1)

    # Items farther than the last positive cannot change any count: they join the invalid ones
    # at +inf, which the sort handles fast (a large saving when the positives rank high).
    last = np.where(count > 0, pos_dist[np.arange(num_rows), np.maximum(count - 1, 0)], -np.inf)
    in_play = np.where(valid & (dist <= last[:, None]), dist, np.inf)  # (C, G)
    in_play.sort(axis=1)
    less, leq = _count_below(in_play, pos_dist)
    pos_less, pos_leq = _count_below(pos_dist, pos_dist)

    # A positive tied with other valid items is ranked after those of them with a smaller index.
    rank = less.copy()
    in_use = np.arange(width)[None, :] < count[:, None]
    tie_rows, tie_slots = np.nonzero(in_use & (leq - less > 1))
    step = max(1, _TIE_BLOCK // max(num_gallery, 1))
    for start in range(0, tie_rows.size, step):
        r, s = tie_rows[start : start + step], tie_slots[start : start + step]
        before = np.arange(num_gallery)[None, :] < pos_index[r, s][:, None]  # (T, G)
        same = (dist[r] == pos_dist[r, s][:, None]) & valid[r] & before
        rank[r, s] += same.sum(axis=1)
    return _Positives(count, rank, less, leq, pos_less, pos_leq)


class _RowMetrics(NamedTuple):
    has_match: np.ndarray  # (C,) bool
    first_rank: np.ndarray  # (C,) 0-based rank of the first correct match
    ap: np.ndarray  # (C,) average precision
    inp: np.ndarray  # (C,) inverse negative penalty


def _row_metrics(p: _Positives, ap: str) -> _RowMetrics:
    """Per-query metrics from the ranked positives (rows without positives get zeros)."""
    count = p.count
    has_match = count > 0
    n = np.maximum(count, 1).astype(np.float64)
    in_use = np.arange(p.rank.shape[1])[None, :] < count[:, None]  # (C, M)
    if ap == "step":
        # mean over positives of the precision at the positive: i / (rank_i + 1), i = 1..n
        hits = np.arange(1, p.rank.shape[1] + 1)[None, :]
        precision = np.where(in_use, hits / (p.rank + 1.0), 0.0)
        ap_rows = precision.sum(axis=1) / n
    else:
        # scikit-learn 0.18: trapezoids under the PR curve (one point per distinct distance, plus
        # (recall 0, precision 1)). The trapezoid of a tie block goes from the precision just
        # before the block to the precision at its end, with width (positives in block) / n;
        # shared out over the positives of the block, each gets (p_before + p_after) / 2 / n.
        p_before = np.where(p.less > 0, p.pos_less / np.maximum(p.less, 1), 1.0)
        p_after = p.pos_leq / np.maximum(p.leq, 1)
        ap_rows = np.where(in_use, (p_before + p_after) / 2, 0.0).sum(axis=1) / n
    last = np.take_along_axis(p.rank, np.maximum(count - 1, 0)[:, None], axis=1)[:, 0]
    inp = np.where(has_match, count / (last + 1.0), 0.0)
    return _RowMetrics(has_match, p.rank[:, 0], np.where(has_match, ap_rows, 0.0), inp)


class _GalleryGroups(NamedTuple):
    """Gallery columns sorted by identity, for drawing one item per identity."""

    perm: np.ndarray  # (G,) column order that makes identities contiguous
    starts: np.ndarray  # (I,) first sorted position of each identity
    sizes: np.ndarray  # (I,) items per identity


def _gallery_groups(g_pids: np.ndarray) -> _GalleryGroups:
    perm = np.argsort(g_pids, kind="stable")
    _, starts, sizes = np.unique(g_pids[perm], return_index=True, return_counts=True)
    return _GalleryGroups(perm, starts, sizes)


def _one_per_identity(
    valid: np.ndarray, groups: _GalleryGroups, rng: np.random.Generator
) -> np.ndarray:
    """(C, G) bool: one valid item drawn uniformly per (query, gallery identity) that has any."""
    valid_p = valid[:, groups.perm]  # (C, G), identities contiguous
    cum = np.cumsum(valid_p, axis=1, dtype=np.int32)  # valid items so far
    before = cum[:, groups.starts] - valid_p[:, groups.starts]  # (C, I) valid before the group
    in_group = np.add.reduceat(valid_p, groups.starts, axis=1, dtype=np.int32)  # (C, I)
    pick = np.floor(rng.random(in_group.shape) * in_group).astype(np.int32)  # 0..in_group-1
    target = np.repeat(before + pick + 1, groups.sizes, axis=1)  # (C, G)
    chosen_p = valid_p & (cum == target)
    chosen = np.empty_like(chosen_p)
    chosen[:, groups.perm] = chosen_p
    return chosen


def _as_numpy(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if name != "distmat" and arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {arr.shape}")
    return arr


def evaluate_rank(
    distmat,
    q_pids,
    g_pids,
    q_camids,
    g_camids,
    max_rank: int = 50,
    protocol: str = "market",
    ap: str = "step",
    *,
    num_repeats: int = 10,
    seed: int = 0,
    chunk_size: int = 256,
) -> dict:
    """CMC, mAP and mINP of a query-gallery distance matrix.

    Args:
        distmat: (Q, G) finite distances (numpy or torch); smaller is more similar.
        q_pids, q_camids: (Q,) query identities and cameras.
        g_pids, g_camids: (G,) gallery identities and cameras; pid -1 marks junk.
        max_rank: length of the returned CMC curve.
        protocol: "market": all valid gallery items are ranked (Market-1501, CUHK03 767/700,
            MSMT17, and the official RGA code). "cuhk03-classic": single-gallery-shot, as in the
            original CUHK03 protocol (Li et al. 2014): per query and repeat, one valid gallery item
            is drawn uniformly for each gallery identity, the metrics are computed on that
            reduced gallery and averaged over ``num_repeats`` repeats. All three metrics use the
            drawn gallery (torchreid's ``eval_cuhk03`` instead computes AP on the full gallery).
        ap: "step": non-interpolated AP, the mean over positives of the precision at each positive
            (Market-1501 MATLAB code, scikit-learn >= 0.19 without ties). "trapezoid": the area
            under the precision-recall curve by the trapezoid rule, ties as one threshold block;
            this is what the official code's scikit-learn 0.18.1 ``average_precision_score``
            returned. Example: positives at ranks 1 and 3 give 0.833 (step), 0.792 (trapezoid).
        num_repeats, seed: repeats and seed of the "cuhk03-classic" draws (the draws do not
            depend on ``chunk_size``).
        chunk_size: queries processed at once; memory grows as chunk_size * G.

    Returns:
        dict with ``cmc`` ((max_rank,) float64, cmc[k] = fraction of valid queries whose first
        correct match is within the top k+1), ``mAP`` and ``mINP`` (floats in [0, 1]; mINP as in
        Ye et al. 2021: mean of (#positives) / (1-based rank of the last positive)),
        ``num_valid_queries`` and ``num_skipped_queries`` (queries without a valid match).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {PROTOCOLS}")
    if ap not in AP_KINDS:
        raise ValueError(f"unknown ap {ap!r}; choose one of {AP_KINDS}")
    if max_rank < 1:
        raise ValueError(f"max_rank must be >= 1; got {max_rank}")
    if num_repeats < 1:
        raise ValueError(f"num_repeats must be >= 1; got {num_repeats}")
    distmat = _as_numpy(distmat, "distmat")
    q_pids, g_pids = _as_numpy(q_pids, "q_pids"), _as_numpy(g_pids, "g_pids")
    q_camids, g_camids = _as_numpy(q_camids, "q_camids"), _as_numpy(g_camids, "g_camids")
    if distmat.ndim != 2:
        raise ValueError(f"distmat must be (Q, G); got shape {distmat.shape}")
    num_q, num_g = distmat.shape
    if q_pids.shape != (num_q,) or q_camids.shape != (num_q,):
        raise ValueError(
            f"distmat has {num_q} query rows but q_pids/q_camids have shapes "
            f"{q_pids.shape}/{q_camids.shape}"
        )
    if g_pids.shape != (num_g,) or g_camids.shape != (num_g,):
        raise ValueError(
            f"distmat has {num_g} gallery columns but g_pids/g_camids have shapes "
            f"{g_pids.shape}/{g_camids.shape}"
        )
    if distmat.dtype not in (np.float32, np.float64):
        distmat = distmat.astype(np.float64)  # integers and float16: exact in float64

    repeats = num_repeats if protocol == "cuhk03-classic" else 1
    groups = _gallery_groups(g_pids) if protocol == "cuhk03-classic" else None
    rngs = [np.random.default_rng([seed, r]) for r in range(repeats)]
    first_hist = np.zeros(max_rank + 1, dtype=np.int64)  # last bin: first match beyond max_rank
    ap_sum = inp_sum = 0.0
    num_valid = 0
    not_junk = g_pids != -1
    for start in range(0, num_q, chunk_size):
        stop = min(start + chunk_size, num_q)
        dist = distmat[start:stop]
        if not np.isfinite(dist).all():
            bad = start + int(np.nonzero(~np.isfinite(dist).all(axis=1))[0][0])
            raise ValueError(f"distmat has NaN or inf values (first in query row {bad})")
        same_pid = q_pids[start:stop, None] == g_pids[None, :]  # (C, G)
        same_cam = q_camids[start:stop, None] == g_camids[None, :]
        valid = not_junk[None, :] & ~(same_pid & same_cam)
        positive = valid & same_pid
        for rng in rngs:
            if groups is None:
                valid_r, positive_r = valid, positive
            else:
                chosen = _one_per_identity(valid, groups, rng)
                valid_r, positive_r = chosen, positive & chosen
            m = _row_metrics(_rank_positives(dist, valid_r, positive_r), ap)
            first_hist += np.bincount(
                np.minimum(m.first_rank[m.has_match], max_rank), minlength=max_rank + 1
            )
            ap_sum += float(m.ap.sum())
            inp_sum += float(m.inp.sum())
        num_valid += int(m.has_match.sum())  # the same in every repeat

    if num_valid == 0:
        raise ValueError(
            "no query has a valid match (a gallery item of its identity from another camera); "
            "check q_pids/g_pids and the camera ids"
        )
    total = num_valid * repeats
    return {
        "cmc": np.cumsum(first_hist[:max_rank]) / total,
        "mAP": ap_sum / total,
        "mINP": inp_sum / total,
        "num_valid_queries": num_valid,
        "num_skipped_queries": num_q - num_valid,
    }


def top_k_gallery(
    distmat, q_pids, g_pids, q_camids, g_camids, k: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """The ranked lists behind the metrics: each query's k nearest valid gallery items.

    Valid as in :func:`evaluate_rank`'s "market" protocol: gallery items with the query's identity
    and camera, and junk (pid -1), are left out. Ties are ranked by gallery index (a stable sort),
    as in the metrics.

    Args:
        distmat: (Q, G) distances (numpy or torch); smaller is more similar.
        q_pids, q_camids: (Q,) query identities and cameras.
        g_pids, g_camids: (G,) gallery identities and cameras.
        k: list length.
    Returns:
        (indices, hits): (Q, k) int64 gallery indices, -1 past a query's last valid item, and
        (Q, k) bool, True where the item has the query's identity (False for padding).
    """
    dist = _as_numpy(distmat, "distmat").astype(np.float64)
    q_pids, g_pids = _as_numpy(q_pids, "q_pids"), _as_numpy(g_pids, "g_pids")
    q_camids, g_camids = _as_numpy(q_camids, "q_camids"), _as_numpy(g_camids, "g_camids")
    if dist.shape != (len(q_pids), len(g_pids)):
        raise ValueError(
            f"distmat has shape {dist.shape} for {len(q_pids)} queries and {len(g_pids)} gallery items"
        )
    if k < 1:
        raise ValueError(f"k={k}: ask for at least one gallery item")
    same_pid = q_pids[:, None] == g_pids[None, :]  # (Q, G)
    valid = (g_pids != -1)[None, :] & ~(same_pid & (q_camids[:, None] == g_camids[None, :]))
    ranked = np.where(valid, dist, np.inf)
    order = np.argsort(ranked, axis=1, kind="stable")[:, :k]  # (Q, min(k, G))
    present = np.take_along_axis(valid, order, axis=1)
    indices = np.full((len(q_pids), k), -1, dtype=np.int64)
    hits = np.zeros((len(q_pids), k), dtype=bool)
    indices[:, : order.shape[1]] = np.where(present, order, -1)
    hits[:, : order.shape[1]] = present & np.take_along_axis(same_pid, order, axis=1)
    return indices, hits
