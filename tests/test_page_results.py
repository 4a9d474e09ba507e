"""The official-init study beside its gamma = 1 deviation: verdicts and the init's effect."""

import pandas as pd

from rga.study.report.inits import COLUMNS, init_effect, init_verdicts

X4 = "1,2,3,4"


def _run(profile, kind, seed, m_ap, run_id=None):
    key = ("none", "", "asymmetric") if kind == "none" else (kind, X4, "asymmetric")
    return {"profile": profile, "kind": kind, "seed": seed, "mAP": m_ap, "setting_key": key,
            "run_id": run_id or f"{kind}-{profile}-{seed}"}  # fmt: skip


def test_the_init_effect_is_the_paired_difference_of_each_rga_setting():
    runs = pd.DataFrame(
        [_run("pretrained", "rga-sc", s, v) for s, v in ((0, 71.7), (1, 71.2), (2, 71.0))]
        + [_run("pretrained-ones", "rga-sc", s, v) for s, v in ((0, 68.9), (1, 69.3), (2, 68.5))]
        + [_run(p, "none", s, 72.0, run_id=f"base-{s}") for p in COLUMNS for s in range(3)]
        + [_run("pretrained-ones", "rga-s", 0, 70.0)]  # no official-init run: no row
    )
    effect = init_effect(runs)
    assert effect["setting"].tolist() == ["RGA-SC conv2-5_x"]  # the baseline is not an RGA run
    row = effect.iloc[0]
    # differences 2.8, 1.9, 2.5: mean 2.4, sd 0.46, 2.4 ± 4.303 · 0.458 / sqrt 3 = [1.3, 3.5]
    assert row["difference"] == "+2.4 ± 0.5" and row["95 % CI"] == "[1.3, 3.5]"
    assert row["by seed"] == "+2.8 (s0), +1.9 (s1), +2.5 (s2)" and row["seeds"] == 3
    assert init_effect(runs[runs["profile"] == "pretrained-ones"]).empty


def test_init_verdicts_side_by_side():
    claims = pd.DataFrame(
        [
            {"claim": "a", "metric": "mAP", "profile": "pretrained", "verdict": "inconclusive"},
            {"claim": "a", "metric": "mAP", "profile": "pretrained-ones", "verdict": "reversed"},
            {"claim": "b", "metric": "mAP", "profile": "pretrained", "verdict": "pending"},
            {"claim": "b", "metric": "mAP", "profile": "pretrained-ones", "verdict": "reversed"},
            {"claim": "c", "metric": "R1", "profile": "pretrained-ones", "verdict": "holds"},
            {"claim": "c", "metric": "R1", "profile": "cpu", "verdict": "not testable"},
        ]
    )
    table = init_verdicts(claims).set_index(["claim", "metric"])
    official, ones = COLUMNS["pretrained"], COLUMNS["pretrained-ones"]
    assert table.loc[("a", "mAP"), official] == "inconclusive"
    assert table.loc[("a", "mAP"), ones] == "reversed"
    assert table["the init changes the verdict"].to_dict() == {
        ("a", "mAP"): "yes",
        ("b", "mAP"): "not yet known",  # pending: not yet a verdict
        ("c", "R1"): "not yet known",  # not run
    }
    assert table.loc[("c", "R1"), official] == "not run"
