from collections import namedtuple

import numpy as np
import pytest
import torch
from torch import nn

from rga.evaluation import compute_distance, evaluate_model, evaluate_rank, extract_features

FakeOutput = namedtuple("FakeOutput", ["z", "z_hat", "logits"])


class FakeModel(nn.Module):
    """z = a fixed projection of the image mean colour; z_hat = its BatchNorm1d (eval: running
    stats), so eval mode changes the output and can be checked."""

    def __init__(self, dim: int = 4):
        super().__init__()
        self.proj = nn.Linear(3, dim)
        self.bn = nn.BatchNorm1d(dim)
        with torch.no_grad():
            self.bn.running_mean.fill_(0.5)
            self.bn.running_var.fill_(4.0)
        self.seen_training = []
        self.seen_grad = []

    def forward(self, x):
        self.seen_training.append(self.training)
        self.seen_grad.append(torch.is_grad_enabled())
        z = self.proj(x.mean(dim=(2, 3)))  # (B, 3) -> (B, D)
        return FakeOutput(z, self.bn(z), None if not self.training else z)


def make_loader(pids, camids, colours, batch_size=3):
    """List of (images, pids, camids, indices) batches; image i is filled with colour i."""
    images = torch.tensor(np.array(colours), dtype=torch.float32)[:, :, None, None].expand(
        -1, 3, 4, 2
    )
    batches = []
    for s in range(0, len(pids), batch_size):
        sl = slice(s, s + batch_size)
        batches.append(
            (images[sl], torch.tensor(pids[sl]), list(camids[sl]), torch.arange(s, s + 3))
        )
    return batches


def problem(seed=0, num_ids=5):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(num_ids, 3))
    q_pids = list(range(num_ids))
    g_pids = [p for p in range(num_ids) for _ in range(3)] + [-1]
    colours_q = [centres[p] + 0.3 * rng.normal(size=3) for p in q_pids]
    colours_g = [centres[max(p, 0)] + 0.3 * rng.normal(size=3) for p in g_pids]
    query = make_loader(q_pids, [0] * len(q_pids), colours_q)
    gallery = make_loader(g_pids, [1] * len(g_pids), colours_g)
    return query, gallery, colours_q, colours_g, q_pids, g_pids


def test_extract_features_eval_mode_no_grad_and_order():
    torch.manual_seed(0)
    model = FakeModel().train()
    query, _, colours_q, _, q_pids, _ = problem()
    feats = extract_features(model, query)
    assert model.training  # mode restored
    assert model.seen_training == [False, False] and model.seen_grad == [False, False]
    assert feats.z.shape == (5, 4) and feats.z_hat.shape == (5, 4)
    assert feats.z.dtype == torch.float32 and not feats.z.requires_grad
    np.testing.assert_array_equal(feats.pids, q_pids)
    np.testing.assert_array_equal(feats.camids, np.zeros(5))
    expected_z = model.proj(torch.tensor(np.array(colours_q), dtype=torch.float32)).detach()
    torch.testing.assert_close(feats.z, expected_z, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(feats.z_hat, (expected_z - 0.5) / (4.0 + 1e-5) ** 0.5)


def test_extract_features_errors():
    class NoZ(nn.Module):
        def forward(self, x):
            return x

    query = problem()[0]
    with pytest.raises(TypeError, match="'z'"):
        extract_features(NoZ(), query)
    with pytest.raises(ValueError, match="no batch"):
        extract_features(FakeModel(), [])


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_evaluate_model_matches_evaluate_rank(metric):
    torch.manual_seed(1)
    model = FakeModel()
    query, gallery, _, _, q_pids, g_pids = problem(seed=2)
    results = evaluate_model(model, query, gallery, metric=metric)
    assert set(results) == {"z", "z_hat"}
    qf, gf = extract_features(model, query), extract_features(model, gallery)
    for name in ("z", "z_hat"):
        distmat = compute_distance(getattr(qf, name), getattr(gf, name), metric=metric)
        ref = evaluate_rank(distmat, qf.pids, gf.pids, qf.camids, gf.camids)
        r = results[name]
        assert r["R1"] == pytest.approx(100 * ref["cmc"][0])
        assert r["R5"] == pytest.approx(100 * ref["cmc"][4])
        assert r["R10"] == pytest.approx(100 * ref["cmc"][9])
        assert r["mAP"] == pytest.approx(100 * ref["mAP"])
        assert r["mINP"] == pytest.approx(100 * ref["mINP"])
        assert all(isinstance(r[k], float) for k in ("R1", "R5", "R10", "mAP", "mINP"))
        assert (
            0 < r["mINP"] <= 100 and 0 < r["mAP"] <= 100 and r["R1"] <= r["R5"] <= r["R10"] <= 100
        )
        assert (r["num_valid_queries"], r["num_skipped_queries"]) == (5, 0)


def test_evaluate_model_rerank_runs():
    query, gallery, *_ = problem(seed=3, num_ids=8)
    results = evaluate_model(FakeModel(), query, gallery, rerank=True)
    assert 0 < results["z"]["mAP"] <= 100 and 0 < results["z_hat"]["R10"] <= 100


def test_compute_distance_metrics_torch_and_numpy():
    rng = np.random.default_rng(0)
    qf, gf = rng.normal(size=(5, 7)), rng.normal(size=(9, 7))
    cos = compute_distance(torch.from_numpy(qf).float(), gf.astype(np.float32))
    qn = qf / np.linalg.norm(qf, axis=1, keepdims=True)
    gn = gf / np.linalg.norm(gf, axis=1, keepdims=True)
    assert cos.dtype == np.float32 and cos.shape == (5, 9)
    np.testing.assert_allclose(cos, 1 - qn @ gn.T, rtol=0, atol=1e-6)
    euc = compute_distance(qf, gf, metric="euclidean")
    assert euc.dtype == np.float64
    np.testing.assert_allclose(euc, np.linalg.norm(qf[:, None] - gf[None], axis=2), atol=1e-12)
    sq = compute_distance(qf, gf, metric="sqeuclidean")
    np.testing.assert_allclose(sq, euc**2, atol=1e-12)
    # zero vectors: eps keeps cosine finite (distance 1)
    zero = compute_distance(np.zeros((1, 7)), gf)
    np.testing.assert_allclose(zero, np.ones((1, 9)))
    with pytest.raises(ValueError, match="metric"):
        compute_distance(qf, gf, metric="l1")
    with pytest.raises(ValueError, match="feature size"):
        compute_distance(qf, gf[:, :3])


def test_compute_distance_blocks(monkeypatch):
    import rga.evaluation.distance as distance

    rng = np.random.default_rng(1)
    qf, gf = rng.normal(size=(11, 4)), rng.normal(size=(6, 4))
    full = compute_distance(qf, gf, metric="euclidean")
    monkeypatch.setattr(distance, "_BLOCK_ELEMENTS", 13)  # 2 query rows per block
    # BLAS may sum a 2-row block in another order than the whole matrix: equal to float64 rounding
    np.testing.assert_allclose(compute_distance(qf, gf, metric="euclidean"), full, rtol=1e-14)
