import math

import pytest
import torch
import torch.nn.functional as F

from rga.losses import cross_entropy_label_smooth, pairwise_euclidean, triplet_hard

# Four points in 2-D, ids 0, 0, 1, 1:
#   p0 = (0, 0), p1 = (3, 0), p2 = (0, 4), p3 = (1, 0)
# distances: d01 = 3, d02 = 4, d03 = 1, d12 = 5, d13 = 2, d23 = sqrt(17)
POINTS = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0], [1.0, 0.0]], dtype=torch.float64)
IDS = torch.tensor([0, 0, 1, 1])


def test_pairwise_euclidean_hand_case():
    expected = torch.tensor(
        [
            [0.0, 3.0, 4.0, 1.0],
            [3.0, 0.0, 5.0, 2.0],
            [4.0, 5.0, 0.0, math.sqrt(17.0)],
            [1.0, 2.0, math.sqrt(17.0), 0.0],
        ],
        dtype=torch.float64,
    )
    expected.fill_diagonal_(1e-6)  # sqrt of the 1e-12 clamp
    torch.testing.assert_close(pairwise_euclidean(POINTS, POINTS), expected, rtol=0, atol=1e-9)


def test_triplet_hard_hand_case():
    # anchor 0: d_ap = 3, d_an = min(4, 1) = 1       -> 3 - 1 + 0.3 = 2.3
    # anchor 1: d_ap = 3, d_an = min(5, 2) = 2       -> 1.3
    # anchor 2: d_ap = sqrt17, d_an = min(4, 5) = 4  -> sqrt17 - 3.7
    # anchor 3: d_ap = sqrt17, d_an = min(1, 2) = 1  -> sqrt17 - 0.7
    # mean = (2 sqrt17 - 0.8) / 4
    expected = torch.tensor((2 * math.sqrt(17.0) - 0.8) / 4, dtype=torch.float32)
    torch.testing.assert_close(triplet_hard(POINTS, IDS), expected, rtol=0, atol=1e-6)


def test_triplet_hard_margin_and_easy_case():
    # ids far apart: every hinge is inactive, so the loss is exactly 0
    far = POINTS.clone()
    far[2:] += 100.0
    assert triplet_hard(far, IDS).item() == 0.0
    # margin 10 on the hand case: every hinge active, mean(d_ap - d_an) + 10
    mean_gap = (2.0 + 1.0 + (math.sqrt(17.0) - 4) + (math.sqrt(17.0) - 1)) / 4
    assert triplet_hard(POINTS, IDS, margin=10.0).item() == pytest.approx(mean_gap + 10.0, abs=1e-5)


def test_triplet_hard_anchor_itself_counts_as_positive():
    # p0, p1 (id 0) and p2 (id 1, alone), margin 4.5
    # anchor 0: d_ap = 3, d_an = 4 -> 3.5;  anchor 1: d_ap = 3, d_an = 5 -> 2.5
    # anchor 2: d_ap = 1e-6 (itself), d_an = min(4, 5) = 4 -> 0.500001 (it would be 0 without itself)
    loss = triplet_hard(POINTS[:3], torch.tensor([0, 0, 1]), margin=4.5)
    assert loss.item() == pytest.approx((3.5 + 2.5 + 0.500001) / 3, abs=1e-6)


def test_triplet_hard_single_identity_is_zero_and_finite():
    feats = torch.randn(4, 8, requires_grad=True)
    loss = triplet_hard(feats, torch.zeros(4, dtype=torch.long))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.isfinite(feats.grad).all()


def test_triplet_hard_gradient():
    torch.manual_seed(0)
    feats = torch.randn(8, 5, dtype=torch.float64, requires_grad=True)
    ids = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])

    def loss64(x):
        # float64 version of the same computation, for gradcheck
        dist = pairwise_euclidean(x, x)
        same = ids.view(-1, 1) == ids.view(1, -1)
        d_ap = dist.masked_fill(~same, float("-inf")).amax(dim=1)
        d_an = dist.masked_fill(same, float("inf")).amin(dim=1)
        return F.relu(d_ap - d_an + 5.0).mean()

    assert torch.autograd.gradcheck(loss64, (feats,), eps=1e-6, atol=1e-5)
    loss = triplet_hard(feats, ids, margin=5.0)
    torch.testing.assert_close(loss.double(), loss64(feats), rtol=1e-5, atol=1e-6)
    loss.backward()
    assert feats.grad.abs().sum() > 0 and torch.isfinite(feats.grad).all()


def test_triplet_hard_rejects_bad_shapes():
    with pytest.raises(ValueError, match="features"):
        triplet_hard(torch.randn(4, 3), torch.zeros(5, dtype=torch.long))


def test_cross_entropy_label_smooth_hand_case():
    # softmax([ln 1, ln 3]) = [0.25, 0.75]; target 1, eps 0.1, K 2 -> q = [0.05, 0.95]
    logits = torch.tensor([[0.0, math.log(3.0)]], dtype=torch.float64)
    expected = -(0.05 * math.log(0.25) + 0.95 * math.log(0.75))
    loss = cross_entropy_label_smooth(logits, torch.tensor([1]))
    assert loss.item() == pytest.approx(expected, abs=1e-12)
    # uniform logits: the loss is log K whatever the target and epsilon
    loss = cross_entropy_label_smooth(torch.zeros(3, 7), torch.tensor([0, 3, 6]), epsilon=0.4)
    assert loss.item() == pytest.approx(math.log(7.0), abs=1e-6)


@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.5])
def test_cross_entropy_label_smooth_matches_torch(epsilon):
    torch.manual_seed(1)
    logits = torch.randn(16, 11, dtype=torch.float64) * 3
    targets = torch.randint(0, 11, (16,))
    ours = cross_entropy_label_smooth(logits, targets, epsilon=epsilon)
    ref = F.cross_entropy(logits, targets, label_smoothing=epsilon)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)


def test_cross_entropy_label_smooth_gradient():
    logits = torch.randn(4, 5, requires_grad=True)
    targets = torch.tensor([0, 1, 2, 3])
    cross_entropy_label_smooth(logits, targets).backward()
    # d loss / d logits = (softmax - q) / B
    q = 0.9 * F.one_hot(targets, 5) + 0.1 / 5
    expected = (logits.detach().softmax(dim=1) - q) / 4
    torch.testing.assert_close(logits.grad, expected, rtol=1e-5, atol=1e-6)
