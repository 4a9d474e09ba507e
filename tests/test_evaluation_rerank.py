import numpy as np
import pytest
import torch

from rga.evaluation import compute_distance, evaluate_rank, re_ranking


def dense_re_ranking(qf, gf, k1, k2, lambda_value, metric):
    """Zhong et al. 2017 step by step with dense float64 matrices and Python sets (tiny inputs)."""
    x = np.concatenate([qf, gf]).astype(np.float64)
    if metric == "cosine":
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        dist = 1.0 - x @ x.T
    else:
        sq = (x**2).sum(1)
        dist = np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0)
    n, num_q = x.shape[0], qf.shape[0]
    rank = np.argsort(dist, axis=1, kind="stable")
    dist = dist / dist.max(axis=1, keepdims=True)

    def reciprocal(p, k):  # R(p, k), eq. 4
        return {g for g in rank[p, : k + 1] if p in rank[g, : k + 1]}

    v = np.zeros((n, n))
    for p in range(n):
        r_p = reciprocal(p, k1)
        expanded = set(r_p)
        for q in r_p:  # eq. 6, with the strict inequality of the public implementation
            r_q = reciprocal(q, int(round(k1 / 2)))
            if len(r_q & r_p) > 2 / 3 * len(r_q):
                expanded |= r_q
        idx = sorted(expanded)
        w = np.exp(-dist[p, idx])
        v[p, idx] = w / w.sum()
    if k2 > 1:
        v = np.stack([v[rank[p, :k2]].mean(axis=0) for p in range(n)])
    jaccard = np.empty((num_q, n - num_q))
    for i in range(num_q):
        for j in range(n - num_q):
            a, b = v[i], v[num_q + j]
            jaccard[i, j] = 1 - np.minimum(a, b).sum() / np.maximum(a, b).sum()
    return (1 - lambda_value) * jaccard + lambda_value * dist[:num_q, num_q:]


def clustered(seed, num_ids=12, per_id=5, dim=16, noise=0.6):
    """One query and per_id gallery images per identity, features = centre + noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(num_ids, dim))
    q_pids = np.arange(num_ids)
    g_pids = np.repeat(np.arange(num_ids), per_id)
    qf = centres[q_pids] + noise * rng.normal(size=(num_ids, dim))
    gf = centres[g_pids] + noise * rng.normal(size=(g_pids.size, dim))
    return qf, gf, q_pids, g_pids


@pytest.mark.parametrize(
    ("k1", "k2", "lambda_value", "metric"),
    [
        (20, 6, 0.3, "cosine"),
        (6, 3, 0.3, "euclidean"),
        (7, 1, 0.0, "cosine"),
        (5, 2, 0.8, "cosine"),
    ],
)
def test_matches_dense_implementation(k1, k2, lambda_value, metric):
    qf, gf, _, _ = clustered(0, num_ids=10, per_id=5)
    ours = re_ranking(qf, gf, k1=k1, k2=k2, lambda_value=lambda_value, metric=metric)
    ref = dense_re_ranking(qf, gf, k1, k2, lambda_value, metric)
    assert ours.shape == (10, 50) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=0, atol=2e-6)


def test_small_blocks_give_the_same_result(monkeypatch):
    import rga.evaluation.rerank as rerank

    qf, gf, _, _ = clustered(1)
    full = re_ranking(qf, gf, k1=8, k2=3)
    monkeypatch.setattr(rerank, "_BLOCK_ELEMENTS", 97)
    monkeypatch.setattr(rerank, "_PAIR_BLOCK", 50)
    np.testing.assert_array_equal(re_ranking(qf, gf, k1=8, k2=3), full)


def test_swapping_query_and_gallery_transposes_the_jaccard_part():
    qf, gf, _, _ = clustered(2)
    a = re_ranking(qf, gf, k1=8, k2=3, lambda_value=0.0)
    b = re_ranking(gf, qf, k1=8, k2=3, lambda_value=0.0)
    np.testing.assert_allclose(a, b.T, rtol=0, atol=1e-6)
    assert a.min() >= 0.0 and a.max() <= 1.0 + 1e-6


def test_lambda_one_is_the_row_scaled_original_distance():
    qf, gf, _, _ = clustered(3)
    out = re_ranking(torch.from_numpy(qf).float(), gf, k1=8, k2=3, lambda_value=1.0)
    dist = compute_distance(qf, np.concatenate([qf, gf]))  # scaled by the max over queries too
    expected = dist[:, len(qf) :] / dist.max(axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rerank_helps_on_clustered_problem(seed):
    qf, gf, q_pids, g_pids = clustered(seed, num_ids=20, noise=0.9)
    q_cams, g_cams = np.zeros(len(q_pids), int), np.ones(len(g_pids), int)
    base = evaluate_rank(compute_distance(qf, gf), q_pids, g_pids, q_cams, g_cams)["mAP"]
    reranked = evaluate_rank(re_ranking(qf, gf), q_pids, g_pids, q_cams, g_cams)["mAP"]
    assert 0.3 < base < 0.95  # neither trivial nor hopeless
    assert reranked > base


def test_input_errors():
    qf, gf, _, _ = clustered(0, num_ids=3, per_id=2)
    with pytest.raises(ValueError, match="lower k1"):
        re_ranking(qf, gf, k1=20)
    with pytest.raises(ValueError, match="metric"):
        re_ranking(qf, gf, k1=2, k2=2, metric="manhattan")
