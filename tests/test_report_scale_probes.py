"""rga.study.report.scale_probes: the plan of book/scale.md on hand-made claim rows."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest
from result_fakes import FITTED, scores, write_fake_run

from rga.study.report.scale_probes import (
    PROBES,
    margin_shift,
    margin_shifts,
    probe_plan,
    scale_judgement,
)

CLAIM = "RGA-SC after all four stages beats the baseline"
OTHER = "The relations help: RGA-SC beats RGA-SC w/o Rel."


def test_the_move_is_paired_by_seed_over_the_seeds_both_have():
    test, by_seed = margin_shift([(2, 0.5), (0, 1.0), (1, 2.0)], [(0, 3.0), (1, 3.0), (4, 9.0)])
    assert by_seed == [(0, -2.0), (1, -1.0)]
    # d = -2, -1: mean -1.5, sd 0.707, t(0.975, 1) = 12.706: -1.5 ± 6.35
    assert (test.n, test.mean) == (2, -1.5)
    assert test.low == pytest.approx(-1.5 - 12.706 * 0.7071 / math.sqrt(2), abs=1e-3)
    assert margin_shift([(0, 1.0)], [])[0].n == 0


@pytest.mark.parametrize(
    "probe, study, moves, expected",
    [
        ("holds", "holds", False, "stands at that scale"),
        ("holds", "holds", True, "stands at that scale"),  # the same verdict stands
        ("holds", "inconclusive", True, "depends on scale"),
        ("holds", "inconclusive", False, "differs, within the seeds' resolution"),
        ("pending", "holds", True, "pending"),
        ("holds", "not run", False, "pending"),
        ("not testable", "holds", False, "not testable"),
    ],
)
def test_the_judgement_follows_the_plan(probe, study, moves, expected):
    assert scale_judgement(probe, study, moves) == expected


def _row(claim, metric, verdict, pairs, profile="pretrained", probe=None):
    row = {"claim": claim, "metric": metric, "verdict": verdict, "pairs": pairs, "profile": profile}
    return {**row, "probe": probe} if probe else row


def _pair(by_seed, better="RGA-SC", worse="Baseline"):
    mean = sum(v for _, v in by_seed) / len(by_seed)
    return {"better": better, "worse": worse, "mean": mean, "by seed": by_seed}


def test_moves_are_corrected_over_every_probe_in_one_metric():
    """Two probes' pairs in mAP form one Holm family: each move's p doubles (capped, kept
    monotone); R1 is its own family."""
    study = pd.DataFrame(
        [
            _row(CLAIM, "mAP", "inconclusive", [_pair([(0, 0.0), (1, 0.1), (2, -0.1)])]),
            _row(CLAIM, "R1", "inconclusive", [_pair([(0, 0.0), (1, 0.0), (2, 0.0)])]),
            _row(CLAIM, "mAP", "reversed", [_pair([(0, -9.0)])], profile="pretrained-ones"),
        ]
    )
    probes = pd.DataFrame(
        [
            _row(CLAIM, "mAP", "holds", [_pair([(0, 5.0), (1, 5.2), (2, 4.9)])], probe="a"),
            _row(CLAIM, "mAP", "inconclusive", [_pair([(0, 1.0), (1, -1.0), (2, 0.5)])], probe="b"),
            _row(CLAIM, "R1", "holds", [_pair([(0, 3.0), (1, 3.0), (2, 3.0)])], probe="a"),
        ]
    )
    out = margin_shifts(probes, study).set_index(["probe", "metric"])
    a = out.loc[("a", "mAP")]
    assert [d for _, d in a["move by seed"]] == pytest.approx([5.0, 5.1, 5.0])
    assert a["study verdict"] == "inconclusive"  # the study's profile, not the deviation's
    b = out.loc[("b", "mAP")]
    ps = sorted([a["move p"], b["move p"]])
    assert sorted([a["move p (Holm)"], b["move p (Holm)"]]) == pytest.approx(
        [2 * ps[0], max(2 * ps[0], ps[1])]
    )
    assert bool(a["moves"]) and a["judgement"] == "depends on scale"
    assert not b["moves"] and b["judgement"] == "stands at that scale"
    r1 = out.loc[("a", "R1")]  # d = 3, 3, 3: sd 0, p 0, a family of its own
    assert r1["move p (Holm)"] == 0.0 and r1["judgement"] == "depends on scale"
    assert a["largest move left open"] == pytest.approx(max(abs(a["move low"]), a["move high"]))


def test_a_claim_the_study_has_not_judged_is_pending():
    probes = pd.DataFrame([_row(OTHER, "mAP", "holds", [_pair([(0, 1.0), (1, 2.0)])], probe="a")])
    out = margin_shifts(probes, pd.DataFrame(columns=["claim", "metric", "profile", "pairs"]))
    assert out.loc[0, "judgement"] == "pending" and out.loc[0, "seeds"] == 0
    assert margin_shifts(probes.iloc[:0], probes).empty


def test_each_probe_plans_the_seeds_of_its_issue():
    plans = {probe.name: probe_plan(probe) for probe in PROBES}
    official = plans["official sizes"]
    seeds = {key[0]: len(s) for key, s in official.items()}
    # RGA-SC x4 five seeds, its w/o Rel. and CBAM-CS three; the baseline is the study's (five)
    assert seeds == {"rga-sc": 5, "rga-sc-norel": 3, "cbam": 3, "none": 5}
    assert {len(s) for s in plans["192x96"].values()} == {3}
    assert len(plans["192x96"]) == 3


def _write(root, experiment, config, value, seed):
    config = dataclasses.replace(config, experiment=experiment, seed=seed)
    write_fake_run(root, config, metrics=scores(value), curve=FITTED)


def test_probe_1_is_judged_on_its_runs_and_the_studys_baseline(tmp_path):
    """Results files as the study and the probe write them: the probe's RGA-SC at the official
    sizes (5 seeds) beats the study's own baseline runs by 3 points where the study's RGA-SC
    lost 0.5, so the verdict changes and the margin moves: "depends on scale"."""
    from rga.engine.config import make_config
    from rga.study.experiments import OFFICIAL_SIZES_RGA_SC
    from rga.study.report.claims import study_claims
    from rga.study.report.scale_probes import probe_claims

    baseline = make_config("pretrained", kind=None, positions=())
    study_rga = make_config("pretrained", kind="rga-sc", positions=(1, 2, 3, 4))
    probe_rga = make_config("pretrained", **OFFICIAL_SIZES_RGA_SC)
    noise = [0.05, -0.05, 0.1, -0.1, 0.0]
    for seed in range(5):
        base = 70 + seed
        _write(tmp_path, "plugin_position", baseline, base, seed)
        _write(tmp_path, "plugin_position", study_rga, base - 0.5 + noise[seed], seed)
        _write(tmp_path, "scale_ratios", probe_rga, base + 3 + noise[::-1][seed], seed)
    probes = probe_claims(PROBES[:1], root=tmp_path)
    row = probes[(probes["claim"] == CLAIM) & (probes["metric"] == "mAP")].iloc[0]
    assert (row["verdict"], row["seeds"], row["seeds planned"]) == ("holds", 5, 5)
    assert row["runs of"] == "official sizes"
    relations = probes[(probes["claim"] == OTHER) & (probes["metric"] == "mAP")].iloc[0]
    assert relations["verdict"] == "not run"
    study = study_claims(root=tmp_path)
    shifts = margin_shifts(probes, study)
    mAP = shifts[shifts["metric"] == "mAP"].iloc[0]
    assert mAP["study verdict"] == "reversed" and mAP["seeds"] == 5
    assert mAP["move"] == pytest.approx(3.5)
    assert mAP["judgement"] == "depends on scale"
    # the probe is a study of its own: never pooled with the study's runs
    from rga.study.report.runs import load_runs

    assert set(load_runs(root=tmp_path, profiles=None)["experiment"]) == {"plugin_position"}
    assert len(load_runs("scale_ratios", tmp_path, profiles=None)) == 5


def test_the_status_counts_each_probes_runs_and_its_judged_claims_once():
    from rga.study.report.scale_probes import scale_status

    progress = pd.DataFrame([{"probe": "a", "runs planned": 11, "runs finished": 11},
                             {"probe": "b", "runs planned": 10, "runs finished": 2}])  # fmt: skip
    shifts = pd.DataFrame([
        {"probe": "a", "claim": "x", "metric": "mAP", "judgement": "stands at that scale"},
        {"probe": "a", "claim": "x", "metric": "mAP", "judgement": "stands at that scale"},
        {"probe": "a", "claim": "y", "metric": "mAP", "judgement": "depends on scale"},
        {"probe": "a", "claim": "y", "metric": "R1", "judgement": "depends on scale"},
        {"probe": "b", "claim": "x", "metric": "mAP", "judgement": "pending"},
    ])  # fmt: skip
    assert scale_status(shifts, progress) == (
        "Probe “a” (11 of 11 runs), claims in mAP: 1 stands at that scale, 1 depends on scale. "
        "Probe “b”: 2 of its 10 runs, no judgement yet."
    )
    both_stand = shifts.assign(judgement="stands at that scale")
    assert "claims in mAP: 2 stand at that scale." in scale_status(both_stand, progress)
    both_differ = shifts.assign(judgement="differs, within the seeds' resolution")
    assert "2 differ, within the seeds' resolution." in scale_status(both_differ, progress)
