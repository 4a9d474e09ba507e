"""Part scores of spatial maps (rga.analysis.parts) on hand-made maps and part maps."""

import numpy as np
import pytest
import torch

from rga.analysis.parts import PARTS, correlation_ratio, part_scores, part_scores_per_image
from rga.analysis.precision import upsample_maps

HEAD, TORSO, LEGS, BAG = (PARTS.index(p) for p in ("head", "torso", "legs", "bag"))


def person_parts(height: int = 16, width: int = 8) -> np.ndarray:
    """(H, W) labels: background, a head, a torso with a bag on one side, legs."""
    parts = np.zeros((height, width), dtype=np.uint8)
    parts[1:4, 3:5] = HEAD
    parts[4:9, 2:6] = TORSO
    parts[5:8, 6:8] = BAG
    parts[9:15, 2:6] = LEGS
    return parts


def brute_force_eta2(values: np.ndarray, labels: np.ndarray) -> float:
    """1 - within-group sum of squares / total, written the other way round."""
    values, labels = values.ravel().astype(np.float64), labels.ravel()
    within = sum(
        ((values[labels == k] - values[labels == k].mean()) ** 2).sum() for k in set(labels)
    )
    return 1.0 - within / ((values - values.mean()) ** 2).sum()


def test_correlation_ratio_matches_a_brute_force_computation():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, size=300)
    values = rng.normal(size=300) + 0.7 * labels
    assert correlation_ratio(values, labels, 5) == pytest.approx(
        brute_force_eta2(values, labels), rel=1e-12
    )
    assert np.isnan(correlation_ratio(np.full(10, 0.3), np.arange(10) % 2, 2))


def test_a_map_constant_on_each_part_is_fully_explained():
    parts = person_parts()
    levels = np.array([0.5, 0.9, 0.2, 0.6, 0.8, 0.1, 0.4])  # one gate per part
    scores = part_scores_per_image(levels[parts][None], parts[None])
    assert scores["explained"][0] == pytest.approx(1.0)
    assert scores["explained_person"][0] < 0.6  # person vs background alone explains less
    for label, name in enumerate(PARTS):
        expected = levels[label] if (parts == label).any() else np.nan
        np.testing.assert_allclose(scores[f"mean_{name}"][0], expected)


def test_a_person_versus_background_map_gains_nothing_from_the_parts():
    parts = person_parts()
    person_only = np.where(parts > 0, 0.8, 0.3)
    scores = part_scores(person_only[None], parts[None])
    assert scores["explained"] == pytest.approx(1.0)
    assert scores["explained_person"] == pytest.approx(1.0)
    assert scores["mean_head"] == pytest.approx(0.8) and scores["mean_legs"] == pytest.approx(0.8)


def test_noise_independent_of_the_parts_explains_little():
    rng = np.random.default_rng(1)
    parts = np.stack([person_parts(64, 32)] * 4)
    noise = rng.uniform(size=parts.shape)
    scores = part_scores(noise, parts)
    assert scores["explained"] < 0.02
    assert abs(scores["mean_legs"] - 0.5) < 0.05


def test_low_resolution_maps_are_upsampled_to_the_part_map():
    rng = np.random.default_rng(2)
    parts = person_parts(16, 8)[None]
    low = rng.uniform(size=(1, 4, 2))
    got = part_scores_per_image(torch.from_numpy(low)[:, None], parts)  # (B, 1, h, w) torch
    up = upsample_maps(low, (16, 8))
    assert got["explained"][0] == pytest.approx(brute_force_eta2(up[0], parts[0]), rel=1e-9)
    assert got["mean_bag"][0] == pytest.approx(up[0][parts[0] == BAG].mean())


def test_undefined_scores_are_nan_and_skipped_in_the_mean():
    parts = np.stack([person_parts(), np.zeros((16, 8), np.uint8)])  # the second shows no person
    maps = np.stack([np.where(person_parts() == LEGS, 1.0, 0.0), np.full((16, 8), 0.5)])
    per_image = part_scores_per_image(maps, parts)
    assert np.isnan(per_image["explained"][1])  # a constant map has nothing to explain
    assert np.isnan(per_image["mean_legs"][1])  # no legs in the second image
    mean = part_scores(maps, parts)
    assert mean["mean_legs"] == pytest.approx(1.0) and mean["explained"] == pytest.approx(1.0)
    assert mean["mean_background"] == pytest.approx(0.25)  # 0 and 0.5: both images show it


def test_bad_inputs_name_the_fix():
    parts = person_parts()[None]
    with pytest.raises(ValueError, match="integer labels"):
        part_scores(np.ones((1, 4, 2)), parts.astype(float))
    with pytest.raises(ValueError, match="0..6"):
        part_scores(np.ones((1, 4, 2)), parts + 7)
    with pytest.raises(ValueError, match="one per map"):
        part_scores(np.ones((2, 4, 2)), parts)
    with pytest.raises(ValueError, match=r"\(B, H, W\)"):
        part_scores(np.ones((1, 4, 2)), parts[0])
