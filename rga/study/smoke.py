"""What the smoke profile's numbers mean: the chance levels of its tiny query and gallery.

The smoke profile checks that a notebook runs, in about a minute: two epochs from scratch on
48 training images, which learn next to nothing. Its R1 of 0 and its mAP of about 5% (equal to
its mINP) are then what the data predicts, not a defect of the evaluation: each query has one
true match among 31 gallery items, always in the other camera (the protocol drops the query's
own camera's image of its identity), and a network that has learnt nothing ranks images by
camera (each SynthReID camera has its own scene and imaging), so the 15 items of the query's own
camera come first. ``chance_levels`` computes these levels from any query and gallery;
``smoke_note`` is the sentence the experiment notebooks print under the smoke profile.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rga.engine.build import load_data
from rga.engine.config import make_config
from rga.study.experiments import notebook_fields

__all__ = ["ChanceLevels", "chance_levels", "smoke_note"]


class ChanceLevels(NamedTuple):
    """Expected metrics of rankings that know nothing of identity, as fractions, over the
    queries with a valid match; the counts are means per such query."""

    num_queries: int
    gallery: float  # valid gallery items (not junk, not of the query's identity and camera)
    matches: float  # valid items of the query's identity (all in other cameras)
    same_camera: float  # valid items in the query's camera (none of its identity)
    r1: float  # R1 of a uniformly random ranking
    mAP: float  # mAP of a uniformly random ranking
    camera_first_mAP: float  # mAP when the query's camera comes first, random within each camera


def _expected_ap(valid: np.ndarray, matches: np.ndarray, ahead: np.ndarray) -> np.ndarray:
    """Per query, the expected AP when `ahead` negatives come first and the other ``valid -
    ahead`` items, `matches` of them positives, follow in uniformly random order.

    A positive lands in each of the M = valid - ahead slots with probability R/M; given one at
    slot r, the positives up to it number 1 + (r - 1)(R - 1)/(M - 1) on average, so
    E[AP] = (1/M) sum_r (1 + (r - 1)(R - 1)/(M - 1)) / (ahead + r).
    """
    result = np.empty(len(valid))
    for i, (n, r, s) in enumerate(zip(valid, matches, ahead, strict=True)):
        m = n - s
        slots = np.arange(1, m + 1)
        share = (r - 1) / (m - 1) if m > 1 else 0.0
        result[i] = np.mean((1 + (slots - 1) * share) / (s + slots))
    return result


def chance_levels(q_pids, g_pids, q_camids, g_camids) -> ChanceLevels:
    """The chance levels of a query-gallery split under ``rga.evaluate_rank``'s "market" protocol
    (junk, pid -1, and the query's identity in its own camera left out; queries without a valid
    match skipped).

    Args:
        q_pids, q_camids: (Q,) query identities and cameras.
        g_pids, g_camids: (G,) gallery identities and cameras.
    """
    q_pids, q_camids = np.asarray(q_pids), np.asarray(q_camids)
    g_pids, g_camids = np.asarray(g_pids), np.asarray(g_camids)
    same_pid = q_pids[:, None] == g_pids[None, :]  # (Q, G)
    same_cam = q_camids[:, None] == g_camids[None, :]
    valid = (g_pids != -1)[None, :] & ~(same_pid & same_cam)
    keep = (valid & same_pid).any(axis=1)
    if not keep.any():
        raise ValueError("no query has a valid match (a gallery item of its identity elsewhere)")
    n = valid[keep].sum(axis=1)
    r = (valid & same_pid)[keep].sum(axis=1)
    s = (valid & same_cam)[keep].sum(axis=1)  # no positive among them: the protocol drops it
    return ChanceLevels(
        num_queries=int(keep.sum()),
        gallery=float(n.mean()),
        matches=float(r.mean()),
        same_camera=float(s.mean()),
        r1=float(np.mean(r / n)),
        mAP=float(_expected_ap(n, r, np.zeros_like(n)).mean()),
        camera_first_mAP=float(_expected_ap(n, r, s).mean()),
    )


def smoke_note(data_root: str | None = None, dataset: str | None = None) -> str:
    """Why the smoke profile's R1 is 0 and its mAP about 5%, with the levels of its data (the
    notebook's `data_root` and `dataset` parameters; None: the profile's)."""
    config = make_config("smoke", **notebook_fields(data_root=data_root, dataset=dataset))
    data = load_data(config, verbose=False)
    levels = chance_levels(
        [s.pid for s in data.query],
        [s.pid for s in data.gallery],
        [s.camid for s in data.query],
        [s.camid for s in data.gallery],
    )
    one = levels.matches == 1
    matches = "one true match" if one else f"{levels.matches:.3g} true matches"
    one_match = " (= mINP: one match per query)" if one else ""
    hits = levels.r1 * levels.num_queries  # queries a random ranking gets right, on average
    fewer = f" (fewer than one query of {levels.num_queries})" if hits < 1 else ""
    return (
        f"Smoke profile, a check that the notebook runs, not a result: each of its "
        f"{levels.num_queries} queries has {matches} among "
        f"{levels.gallery:.3g} gallery images, so a random ranking gives R1 "
        f"{levels.r1:.1%}{fewer} and mAP "
        f"{levels.mAP:.1%}. Two epochs from scratch learn next to nothing, and such features "
        "rank images by camera (each camera has its own scene and imaging) while a query's "
        f"match is always in another camera, behind the {levels.same_camera:.3g} images of its "
        f"own: expect R1 = 0 and mAP near {levels.camera_first_mAP:.1%}{one_match}."
    )
