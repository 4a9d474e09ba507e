"""The smoke profile's note: its chance levels are exact, and its premises hold on the smoke set
(one match per query, in the other camera, behind the query's own camera; a network that has
learnt nothing ranks by camera)."""

import itertools

import numpy as np
import pytest
import torch

from rga.engine.build import build_model, load_data
from rga.engine.config import make_config
from rga.engine.evaluate import rank_gallery
from rga.evaluation import evaluate_rank
from rga.study.smoke import chance_levels, smoke_note

# A query of pid 1 in camera 0 and one of pid 2 in camera 1 over six gallery items: a second
# image of the query's identity and camera (left out), a junk item, two positives of pid 1.
Q_PIDS, Q_CAMS = np.array([1, 2]), np.array([0, 1])
G_PIDS = np.array([1, 1, 2, -1, 3, 1])
G_CAMS = np.array([0, 1, 0, 1, 0, 1])


def brute_force(camera_first: bool) -> tuple[float, float]:
    """R1 and mAP averaged over every order of the gallery (the query's camera first when
    `camera_first`): the expectation, computed as one evaluate_rank over all orders."""
    orders = np.array(list(itertools.permutations(range(len(G_PIDS)))), dtype=np.float64)
    rows = np.repeat(orders, len(Q_PIDS), axis=0)  # (P * Q, G): rank of each item
    q_cams = np.tile(Q_CAMS, len(orders))
    if camera_first:
        rows += 100.0 * (G_CAMS[None, :] != q_cams[:, None])
    m = evaluate_rank(rows, np.tile(Q_PIDS, len(orders)), G_PIDS, q_cams, G_CAMS)
    return m["cmc"][0], m["mAP"]


def test_chance_levels_equal_the_mean_over_every_ranking():
    levels = chance_levels(Q_PIDS, G_PIDS, Q_CAMS, G_CAMS)
    r1, mean_ap = brute_force(camera_first=False)
    _, camera_first_ap = brute_force(camera_first=True)
    assert levels.num_queries == 2
    assert (levels.gallery, levels.matches, levels.same_camera) == (4.5, 1.5, 2.0)
    torch.testing.assert_close(levels.r1, r1, rtol=0, atol=1e-12)
    torch.testing.assert_close(levels.mAP, mean_ap, rtol=0, atol=1e-12)
    torch.testing.assert_close(levels.camera_first_mAP, camera_first_ap, rtol=0, atol=1e-12)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    config = make_config("smoke", data_root=str(tmp_path_factory.mktemp("data")))
    return config, load_data(config, verbose=False)


def pids_and_cams(data):
    return (
        np.array([s.pid for s in data.query]),
        np.array([s.pid for s in data.gallery]),
        np.array([s.camid for s in data.query]),
        np.array([s.camid for s in data.gallery]),
    )


def test_a_random_ranking_of_the_smoke_set_gets_fewer_than_one_query_right(smoke):
    _, data = smoke
    levels = chance_levels(*pids_and_cams(data))
    assert levels.num_queries == len(data.query) == 24
    assert (levels.gallery, levels.matches, levels.same_camera) == (31, 1, 15)
    assert levels.r1 < 1 / levels.num_queries  # R1 = 0 is a likely outcome even of chance
    # with the query's camera first, R1 is 0 and mAP = mINP = (H_31 - H_15) / 16, about 4.4%
    assert levels.camera_first_mAP < 0.05 < levels.mAP


def test_an_untrained_smoke_network_ranks_the_query_s_camera_first(smoke):
    config, data = smoke
    q_pids, g_pids, q_cams, g_cams = pids_and_cams(data)
    torch.manual_seed(0)
    model = build_model(config, num_classes=12).eval()
    ranked = rank_gallery(model, config, data, k=15)
    same_camera = g_cams[ranked.indices] == q_cams[:, None]  # (Q, 15)
    # a ranking blind to cameras puts 15 / 31 of them there; the note's premise is most
    assert same_camera.mean() > 0.75
    assert not ranked.hits[:, 0].any()  # R1 = 0


def test_the_note_states_the_smoke_set_s_levels(smoke):
    config, _ = smoke
    note = smoke_note(config.data_root)
    assert "24 queries has one true match among 31 gallery images" in note
    assert "R1 3.2%" in note and "fewer than one query of 24" in note
    assert "behind the 15 images of its own" in note and "mAP near 4.4%" in note
