"""Attention precision against person masks: hand-computed cases and a brute-force AUROC."""

import numpy as np
import pytest
import torch

from rga.analysis.precision import (
    attention_precision,
    attention_precision_per_image,
    binary_auroc,
    upsample_maps,
)

TOP_ROW = np.array([[[True, True], [False, False]]])  # (1, 2, 2)


def brute_force_auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean over (positive, negative) pairs of [s_p > s_n] + 0.5 [s_p == s_n]."""
    pos, neg = scores[labels], scores[~labels]
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


@pytest.mark.parametrize(
    ("attention", "expected_auroc", "expected_mass"),
    [
        ([[0.9, 0.8], [0.1, 0.2]], 1.0, 1.7 / 2.0),  # person brighter than all background
        ([[0.1, 0.2], [0.9, 0.8]], 0.0, 0.3 / 2.0),  # the reverse
        ([[0.2, 0.8], [0.6, 0.4]], 0.5, 1.0 / 2.0),  # 2 of 4 pairs won, no ties
        ([[0.5, 0.5], [0.5, 0.5]], 0.5, 0.5),  # all tied: each pair counts 1/2
        # positives {0.5, 0.3}, negatives {0.5, 0.1}: tie (1/2), win, loss, win -> 2.5 / 4
        ([[0.5, 0.3], [0.5, 0.1]], 2.5 / 4, 0.8 / 1.4),
    ],
)
def test_hand_computed_2x2(attention, expected_auroc, expected_mass):
    scores = attention_precision(np.array([attention]), TOP_ROW)
    assert scores["auroc"] == pytest.approx(expected_auroc, abs=1e-12)
    assert scores["mass_on_person"] == pytest.approx(expected_mass, abs=1e-12)
    assert scores["chance"] == pytest.approx(0.5, abs=1e-12)


def test_tie_between_positive_and_negatives_counts_half():
    # positive 0.5; negatives 0.5, 0.5, 0.1 -> (0.5 + 0.5 + 1) / 3
    attention = np.array([[[0.5, 0.5], [0.5, 0.1]]])
    mask = np.array([[[True, False], [False, False]]])
    scores = attention_precision(attention, mask)
    assert scores["auroc"] == pytest.approx(2 / 3, abs=1e-12)
    assert scores["chance"] == pytest.approx(0.25, abs=1e-12)


def test_uniform_map_gets_chance_mass():
    rng = np.random.default_rng(0)
    masks = rng.random((3, 8, 4)) < 0.4
    masks[:, 0, 0], masks[:, -1, -1] = True, False  # never empty or full
    scores = attention_precision_per_image(np.full((3, 2, 1), 0.7), masks)
    np.testing.assert_allclose(scores["mass_on_person"], masks.mean(axis=(1, 2)), atol=1e-12)
    np.testing.assert_allclose(scores["chance"], masks.mean(axis=(1, 2)), atol=1e-12)
    np.testing.assert_allclose(scores["auroc"], 0.5, atol=1e-12)


def test_bilinear_upsampling_to_mask_size():
    # (1, 1, 2) -> (1, 2, 4) with align_corners=False: each row becomes [0, 0.25, 0.75, 1]
    up = upsample_maps(np.array([[[0.0, 1.0]]]), (2, 4))
    np.testing.assert_allclose(up, [[[0.0, 0.25, 0.75, 1.0]] * 2], atol=1e-12)
    right_half = np.zeros((1, 2, 4), dtype=bool)
    right_half[:, :, 2:] = True
    scores = attention_precision(np.array([[[0.0, 1.0]]]), right_half)
    assert scores["mass_on_person"] == pytest.approx(1.75 / 2.0, abs=1e-12)
    assert scores["auroc"] == pytest.approx(1.0, abs=1e-12)


def test_undefined_auroc_is_left_out_of_the_mean():
    attention = np.array([[[0.9, 0.8], [0.1, 0.2]], [[0.3, 0.3], [0.2, 0.1]]])
    masks = np.stack([TOP_ROW[0], np.ones((2, 2), dtype=bool)])  # second mask covers everything
    per_image = attention_precision_per_image(attention, masks)
    assert np.isnan(per_image["auroc"][1])
    assert per_image["mass_on_person"][1] == pytest.approx(1.0)
    scores = attention_precision(attention, masks)
    assert scores["auroc"] == pytest.approx(1.0)
    assert scores["mass_on_person"] == pytest.approx((0.85 + 1.0) / 2)
    assert scores["chance"] == pytest.approx(0.75)


def test_auroc_matches_brute_force_with_many_ties():
    rng = np.random.default_rng(1)
    for _ in range(20):
        scores = rng.integers(0, 4, size=37).astype(float)  # few distinct values: many ties
        labels = rng.random(37) < 0.3
        labels[:2] = [True, False]
        assert binary_auroc(scores, labels) == pytest.approx(
            brute_force_auroc(scores, labels), abs=1e-12
        )


def test_torch_inputs_and_channel_dim_match_numpy():
    rng = np.random.default_rng(2)
    maps = rng.random((2, 4, 2))
    masks = rng.random((2, 8, 4)) < 0.5
    expected = attention_precision(maps, masks)
    got = attention_precision(torch.from_numpy(maps)[:, None].float(), torch.from_numpy(masks))
    for key in expected:
        assert got[key] == pytest.approx(expected[key], abs=1e-6)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="one mask per map"):
        attention_precision(np.ones((2, 2, 2)), np.ones((1, 2, 2), dtype=bool))
    with pytest.raises(ValueError, match="non-negative"):
        attention_precision(-np.ones((1, 2, 2)), TOP_ROW)
    with pytest.raises(ValueError, match="boolean"):
        attention_precision(np.ones((1, 2, 2)), np.full((1, 2, 2), 255))
    with pytest.raises(ValueError, match=r"\(B, h, w\)"):
        attention_precision(np.ones((2, 2)), TOP_ROW)
