import numpy as np
import pytest

from rga.evaluation.ranking import (
    _gallery_groups,
    _one_per_identity,
    evaluate_rank,
    top_k_gallery,
)


def sklearn018_average_precision(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """scikit-learn 0.18's average_precision_score, restated: auc(recall, precision) by trapezoids
    over precision_recall_curve (one point per distinct score, cut at full recall, plus (0, 1))."""
    desc = np.argsort(y_score, kind="mergesort")[::-1]
    y_score, y_true = y_score[desc], y_true[desc]
    thresholds = np.r_[np.nonzero(np.diff(y_score))[0], y_true.size - 1]
    tps = np.cumsum(y_true)[thresholds]
    fps = 1 + thresholds - tps
    precision, recall = tps / (tps + fps), tps / tps[-1]
    sl = slice(int(tps.searchsorted(tps[-1])), None, -1)
    precision, recall = np.r_[precision[sl], 1.0], np.r_[recall[sl], 0.0]
    return float(-np.trapezoid(precision, recall))


def reference_rank(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50, ap="step"):
    """One query at a time, with a stable argsort: the textbook Market-1501 evaluation."""
    cmc_sum, aps, inps = np.zeros(max_rank), [], []
    for i in range(distmat.shape[0]):
        order = np.argsort(distmat[i], kind="stable")
        keep = (g_pids[order] != -1) & ~(
            (g_pids[order] == q_pids[i]) & (g_camids[order] == q_camids[i])
        )
        matches = g_pids[order][keep] == q_pids[i]
        if not matches.any():
            continue
        cmc = np.zeros(max(max_rank, matches.size))
        cmc[np.argmax(matches) :] = 1
        cmc_sum += cmc[:max_rank]
        ranks = np.nonzero(matches)[0]  # 0-based ranks of the positives
        if ap == "step":
            aps.append(np.mean(np.arange(1, ranks.size + 1) / (ranks + 1)))
        else:
            aps.append(sklearn018_average_precision(matches, -distmat[i][order][keep]))
        inps.append(ranks.size / (ranks[-1] + 1))
    n = len(aps)
    return {
        "cmc": cmc_sum / n,
        "mAP": float(np.mean(aps)),
        "mINP": float(np.mean(inps)),
        "num_valid_queries": n,
        "num_skipped_queries": distmat.shape[0] - n,
    }


def assert_same_result(ours, ref):
    np.testing.assert_allclose(ours["cmc"], ref["cmc"], rtol=0, atol=1e-12)
    assert ours["mAP"] == pytest.approx(ref["mAP"], abs=1e-12)
    assert ours["mINP"] == pytest.approx(ref["mINP"], abs=1e-12)
    assert ours["num_valid_queries"] == ref["num_valid_queries"]
    assert ours["num_skipped_queries"] == ref["num_skipped_queries"]


def random_problem(seed, num_q=40, num_g=300, num_ids=12, num_cams=3, integer=False):
    """Distractors (pid 0), junk (pid -1), queries of identities missing from the gallery
    (pid 99), and identities whose gallery images all share the query's camera."""
    rng = np.random.default_rng(seed)
    g_pids = rng.integers(0, num_ids, num_g)
    g_pids[rng.random(num_g) < 0.1] = -1
    g_cams = rng.integers(0, num_cams, num_g)
    g_cams[g_pids == 1] = 0  # identity 1 only seen by camera 0 in the gallery
    q_pids = rng.integers(1, num_ids, num_q)
    q_pids[:3] = 99
    q_cams = rng.integers(0, num_cams, num_q)
    q_cams[q_pids == 1] = 0  # ... and by camera 0 in the query set: never a valid match
    if integer:  # many ties
        distmat = rng.integers(0, 12, (num_q, num_g)).astype(np.float32)
    else:
        distmat = rng.random((num_q, num_g))
    return distmat, q_pids, g_pids, q_cams, g_cams


# Two queries, hand-computed.
# Query 0 (pid 1, cam 0). Gallery (pid, cam, distance):
#   g0 (1, 1, .10) positive      g1 (2, 1, .20)             g2 (1, 0, .05) same id+cam: removed
#   g3 (1, 2, .30) positive      g4 (-1, 1, .01) junk: removed   g5 (0, 0, .40) distractor
#   valid ranking g0+, g1, g3+, g5 -> positives at ranks 1 and 3
#   AP step = (1/1 + 2/3) / 2 = 5/6; INP = 2/3; first match at rank 1
#   AP trapezoid = 1/2 [(1 + 1)/2 + (1/2 + 2/3)/2] = 19/24 (points (0,1), (.5,1), (.5,.5), (1,2/3))
# Query 1 (pid 3, cam 0). Gallery h0..h4: (4,1,.1) (3,1,.2)+ (4,2,.3) (5,1,.4) (3,2,.5)+
#   positives at ranks 2 and 5: AP step = (1/2 + 2/5)/2 = 0.45; INP = 2/5; first match rank 2
#   AP trapezoid = 1/2 [(0 + 1/2)/2 + (1/4 + 2/5)/2] = 0.2875
HAND_G = [(1, 1), (2, 1), (1, 0), (1, 2), (-1, 1), (0, 0), (4, 1), (3, 1), (4, 2), (5, 1), (3, 2)]
HAND_D = np.array(
    [
        [0.10, 0.20, 0.05, 0.30, 0.01, 0.40] + [9.0] * 5,
        [9.0] * 6 + [0.1, 0.2, 0.3, 0.4, 0.5],
    ]
)


def hand_call(ap="step", **kwargs):
    g_pids, g_cams = (np.array(v) for v in zip(*HAND_G, strict=True))
    return evaluate_rank(
        HAND_D, np.array([1, 3]), g_pids, np.array([0, 0]), g_cams, ap=ap, **kwargs
    )


def test_hand_example_step():
    out = hand_call(max_rank=5)
    np.testing.assert_allclose(out["cmc"], [0.5, 1.0, 1.0, 1.0, 1.0])
    assert out["mAP"] == pytest.approx((5 / 6 + 0.45) / 2, abs=1e-12)
    assert out["mINP"] == pytest.approx((2 / 3 + 2 / 5) / 2, abs=1e-12)
    assert (out["num_valid_queries"], out["num_skipped_queries"]) == (2, 0)


def test_hand_example_trapezoid():
    out = hand_call(ap="trapezoid")
    assert out["mAP"] == pytest.approx((19 / 24 + 0.2875) / 2, abs=1e-12)
    assert out["mINP"] == pytest.approx((2 / 3 + 2 / 5) / 2, abs=1e-12)  # unaffected by ap


def test_spec_example_ranks_1_and_3():
    # official spec section 3: positives at ranks 1 and 3 -> 0.833 (step), 0.792 (trapezoid).
    # The same ranking is scikit-learn 0.18's docstring example (y_true [0, 0, 1, 1], scores
    # [.1, .4, .35, .8]), documented there as "0.79...".
    d = np.array([[0.1, 0.2, 0.3]])
    args = (np.array([1]), np.array([1, 2, 1]), np.array([0]), np.array([1, 1, 1]))
    assert evaluate_rank(d, *args)["mAP"] == pytest.approx(0.8333, abs=1e-4)
    assert evaluate_rank(d, *args, ap="trapezoid")["mAP"] == pytest.approx(0.7917, abs=1e-4)
    y_true, y_score = np.array([1, 0, 1]), -d[0]
    assert sklearn018_average_precision(y_true, y_score) == pytest.approx(19 / 24, abs=1e-12)


# Ties, hand-computed. Query pid 1 cam 0; gallery (pid, cam, distance):
#   a: (2,1,1.0) (1,1,1.0)+ (3,1,0.5) (1,2,2.0)+   stable order: neg .5, neg 1.0, pos 1.0, pos 2.0
#      positives at ranks 3, 4: AP step = (1/3 + 2/4)/2 = 5/12; INP = 2/4; first match rank 3
#   b: the first two gallery items swapped, so the tied positive comes first: ranks 2, 4:
#      AP step = (1/2 + 2/4)/2 = 1/2; INP = 2/4; first match rank 2
#   trapezoid (both): blocks {.5}: P 0 R 0; {1.0}: P 1/3 R 1/2; {2.0}: P 1/2 R 1
#      area = 1/2 (0 + 1/3)/2 + 1/2 (1/3 + 1/2)/2 = 7/24, whatever the order inside the tie
@pytest.mark.parametrize(
    ("pids", "ap_step", "first"), [([2, 1, 3, 1], 5 / 12, 2), ([1, 2, 3, 1], 1 / 2, 1)]
)
def test_ties_by_gallery_index(pids, ap_step, first):
    d = np.array([[1.0, 1.0, 0.5, 2.0]])
    args = (np.array([1]), np.array(pids), np.array([0]), np.array([1, 1, 1, 2]))
    out = evaluate_rank(d, *args, max_rank=4)
    assert out["mAP"] == pytest.approx(ap_step, abs=1e-12)
    assert out["mINP"] == pytest.approx(0.5, abs=1e-12)
    assert int(np.argmax(out["cmc"] > 0)) == first
    trap = evaluate_rank(d, *args, ap="trapezoid")
    assert trap["mAP"] == pytest.approx(7 / 24, abs=1e-12)


def test_ties_between_positives():
    # all four at the same distance, positives at gallery indices 1 and 2 -> ranks 2 and 3
    # step: (1/2 + 2/3)/2 = 7/12. trapezoid: one block P 2/4 R 1 -> area 1 * (1 + 1/2)/2 = 3/4
    d = np.zeros((1, 4))
    args = (np.array([1]), np.array([5, 1, 1, 6]), np.array([0]), np.array([1, 1, 1, 1]))
    assert evaluate_rank(d, *args)["mAP"] == pytest.approx(7 / 12, abs=1e-12)
    assert evaluate_rank(d, *args, ap="trapezoid")["mAP"] == pytest.approx(3 / 4, abs=1e-12)


def test_skipped_queries_no_match_and_same_camera_only():
    # query 0: pid 7 absent from the gallery; query 1: pid 1 only seen by its own camera;
    # query 2: pid 2, valid match at rank 1 (the same-camera pid-2 item is removed)
    d = np.array([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1]])
    g_pids, g_cams = np.array([1, 2, 2]), np.array([0, 1, 0])
    out = evaluate_rank(d, np.array([7, 1, 2]), g_pids, np.array([0, 0, 0]), g_cams, max_rank=2)
    assert (out["num_valid_queries"], out["num_skipped_queries"]) == (1, 2)
    np.testing.assert_allclose(out["cmc"], [1.0, 1.0])  # g1 is the only valid item of query 2
    assert out["mAP"] == 1.0 and out["mINP"] == 1.0


def test_all_queries_skipped_raises():
    with pytest.raises(ValueError, match="no query has a valid match"):
        evaluate_rank(np.zeros((1, 2)), [1], [1, 2], [0], [0, 0])


def test_input_errors():
    with pytest.raises(ValueError, match="protocol"):
        hand_call(protocol="duke")
    with pytest.raises(ValueError, match="ap"):
        hand_call(ap="interpolated")
    with pytest.raises(ValueError, match="gallery columns"):
        evaluate_rank(np.zeros((1, 3)), [1], [1, 2], [0], [0, 0])
    with pytest.raises(ValueError, match="NaN or inf"):
        evaluate_rank(np.array([[0.1, np.nan]]), [1], [1, 2], [0], [1, 0])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("integer", [False, True])
@pytest.mark.parametrize("ap", ["step", "trapezoid"])
def test_matches_reference_on_random_problems(seed, integer, ap):
    problem = random_problem(seed, integer=integer)
    ref = reference_rank(*problem, max_rank=20, ap=ap)
    assert ref["num_skipped_queries"] >= 3  # pid 99 queries at least
    for chunk_size in (256, 7):
        assert_same_result(evaluate_rank(*problem, max_rank=20, ap=ap, chunk_size=chunk_size), ref)


def test_max_rank_beyond_gallery_size():
    problem = random_problem(5, num_q=10, num_g=15, num_ids=4)
    ref = reference_rank(*problem, max_rank=30)
    out = evaluate_rank(*problem, max_rank=30)
    assert_same_result(out, ref)
    assert out["cmc"][-1] == 1.0


def test_torch_inputs():
    torch = pytest.importorskip("torch")
    problem = random_problem(6)
    out = evaluate_rank(*(torch.as_tensor(x) for x in problem))
    assert_same_result(out, reference_rank(*problem))


def test_cuhk03_classic_equals_market_with_one_image_per_identity():
    # every gallery identity has a single valid image: there is nothing to draw
    rng = np.random.default_rng(0)
    g_pids = np.arange(30)
    distmat = rng.random((12, 30))
    args = (distmat, rng.integers(0, 30, 12), g_pids, np.zeros(12, int), np.ones(30, int))
    classic = evaluate_rank(*args, protocol="cuhk03-classic", num_repeats=3)
    assert_same_result(classic, evaluate_rank(*args))


def test_cuhk03_classic_deterministic_and_seeded():
    problem = random_problem(7, num_q=30, num_g=200)
    a = evaluate_rank(*problem, protocol="cuhk03-classic", seed=3)
    b = evaluate_rank(*problem, protocol="cuhk03-classic", seed=3, chunk_size=4)
    c = evaluate_rank(*problem, protocol="cuhk03-classic", seed=4)
    assert_same_result(a, b)  # same seed, any chunking: same draws
    assert a["mAP"] != c["mAP"]
    market = evaluate_rank(*problem)
    assert a["num_valid_queries"] == market["num_valid_queries"]
    # one image per identity is an easier gallery: never a worse first match on average
    assert a["cmc"][0] >= market["cmc"][0]


def test_cuhk03_classic_draws_uniformly():
    # query pid 1; gallery: pid 1 at .1 and at .5, pid 2 at .3. The drawn positive is the .1 one
    # (rank 1) or the .5 one (rank 2) with probability 1/2 each: rank-1 = 0.5, mAP = 0.75
    d = np.array([[0.1, 0.3, 0.5]])
    args = (d, np.array([1]), np.array([1, 2, 1]), np.array([0]), np.array([1, 1, 1]))
    out = evaluate_rank(*args, protocol="cuhk03-classic", num_repeats=2000, seed=0)
    assert out["cmc"][0] == pytest.approx(0.5, abs=0.04)
    assert out["mAP"] == pytest.approx(0.75, abs=0.02)
    assert out["cmc"][1] == 1.0


def test_one_per_identity_draw():
    rng = np.random.default_rng(0)
    g_pids = rng.integers(-1, 6, 50)
    valid = rng.random((8, 50)) < 0.6
    chosen = _one_per_identity(valid, _gallery_groups(g_pids), np.random.default_rng(1))
    assert not (chosen & ~valid).any()
    for pid in np.unique(g_pids):
        in_group = g_pids == pid
        np.testing.assert_array_equal(chosen[:, in_group].sum(1), valid[:, in_group].any(1))


def test_top_k_gallery_on_the_hand_example():
    g_pids, g_cams = (np.array(v) for v in zip(*HAND_G, strict=True))
    indices, hits = top_k_gallery(HAND_D, np.array([1, 3]), g_pids, np.array([0, 0]), g_cams, k=3)
    # query 0: g2 (same id and camera) and g4 (junk) are left out -> g0+, g1, g3+
    assert indices[0].tolist() == [0, 1, 3] and hits[0].tolist() == [True, False, True]
    assert indices[1].tolist() == [6, 7, 8] and hits[1].tolist() == [False, True, False]


@pytest.mark.parametrize("integer", [False, True])
def test_top_k_gallery_matches_a_query_at_a_time_reference(integer):
    distmat, q_pids, g_pids, q_cams, g_cams = random_problem(3, num_g=40, integer=integer)
    indices, hits = top_k_gallery(distmat, q_pids, g_pids, q_cams, g_cams, k=50)
    for i in range(len(q_pids)):
        order = np.argsort(distmat[i], kind="stable")
        keep = (g_pids[order] != -1) & ~(
            (g_pids[order] == q_pids[i]) & (g_cams[order] == q_cams[i])
        )
        expected = order[keep][:50]
        assert indices[i, : expected.size].tolist() == expected.tolist()
        assert (indices[i, expected.size :] == -1).all()  # fewer than k valid items: padding
        assert hits[i].tolist() == (
            (g_pids[expected] == q_pids[i]).tolist() + [False] * (50 - expected.size)
        )
    # the lists hold every valid item (k >= G), so they agree with the metrics
    ranked = evaluate_rank(distmat, q_pids, g_pids, q_cams, g_cams, max_rank=5)
    matched = hits.any(axis=1)
    assert ranked["num_valid_queries"] == matched.sum()
    np.testing.assert_allclose(ranked["cmc"], hits[matched, :5].cumsum(1).clip(0, 1).mean(0))
