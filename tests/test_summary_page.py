"""The landing page's summary (rga.study.pages.summary) on hand-made claims and runs."""

import pandas as pd

from rga.study.pages import summary
from rga.study.report.runs import cpu_family


def _pair(mean, low, high, verdict, worse="Baseline"):
    return {"better": "RGA-SC conv2-5_x", "worse": worse, "n": 3, "mean": mean, "low": low,
            "high": high, "p": 0.01, "verdict": verdict, "by seed": []}  # fmt: skip


def _row(claim, profile, metric, verdict, pairs, detectable=2.3):
    return {"claim": claim, "profile": profile, "metric": metric, "verdict": verdict,
            "pairs": pairs, "pair verdicts": [p["verdict"] for p in pairs],
            "detectable": detectable, "paper, Market-1501": "+4.4 (holds)",
            "rules out above": max((p["high"] for p in pairs), default=float("nan"))}  # fmt: skip


def test_the_summary_leads_with_the_official_study_once_it_is_complete():
    done = _row("a", "pretrained", "mAP", "reversed", [_pair(-3.5, -4.3, -2.7, "reversed")])
    pending = {**done, "verdict": "pending"}
    ones = {**done, "profile": "pretrained-ones"}
    assert summary.summary_profile(pd.DataFrame([done, ones])) == "pretrained"
    assert summary.summary_profile(pd.DataFrame([pending, ones])) == "pretrained-ones"


def test_claims_summary_has_one_row_per_claim_with_ours_and_the_caveat():
    claims = pd.DataFrame(
        [
            _row("a", "pretrained", "mAP", "reversed", [_pair(-3.5, -4.3, -2.7, "reversed")]),
            _row("a", "pretrained", "R1", "inconclusive", [_pair(-1.0, -3.0, 1.0, "undecided")]),
            _row("b", "pretrained", "mAP", "inconclusive",
                 [_pair(-0.3, -1.6, 1.0, "undecided"), _pair(1.1, 0.0, 2.3, "undecided", "X")]),
            _row("b", "pretrained", "R1", "mixed", [_pair(1, 0, 2, "holds")]),
            _row("a", "pretrained-ones", "mAP", "holds", [_pair(1, 0, 2, "holds")]),
        ]
    )  # fmt: skip
    sensitivity = pd.DataFrame(
        {"claim": ["a"], "profile": ["pretrained"], "depends on the feature": [True]}
    )
    table = summary.claims_summary(claims, "pretrained", sensitivity).set_index("claim")
    assert list(table.index) == ["a", "b"]
    assert table.loc["a", "ours, mAP (points, 95 % CI)"] == "-3.5 [-4.3, -2.7]"
    assert table.loc["b", "ours, mAP (points, 95 % CI)"] == "2 pairs: -0.3 to +1.1"
    assert (table.loc["a", "verdict, mAP"], table.loc["a", "verdict, R1"]) == (
        "reversed",
        "inconclusive",
    )
    assert table.loc["a", "caveat"].startswith("the verdict changes with the evaluated feature")
    assert table.loc["b", "caveat"] == "these seeds detect 2.3 points; smaller effects go unseen"
    assert table.loc["a", "paper, mAP, Market-1501"] == "+4.4 (holds)"


def test_a_claim_whose_runs_trained_on_several_cpus_says_so():
    assert cpu_family("Intel(R) Xeon(R) Processor @ 2.80GHz") == "Intel Xeon"
    assert cpu_family("Intel(R) Xeon(R) Processor") == "Intel Xeon"
    assert cpu_family("AMD EPYC 7B13") == "AMD EPYC"
    claims = pd.DataFrame(
        [
            _row("a", "pretrained", "mAP", "inconclusive", [_pair(-0.5, -0.9, 0.1, "undecided")]),
            _row("b", "pretrained", "mAP", "inconclusive",
                 [_pair(0.3, -0.8, 1.4, "undecided", "RGA-SC w/o Rel. conv2-5_x")]),
            _row("c", "pretrained", "mAP", "not run", []),
        ]
    )  # fmt: skip
    runs = pd.DataFrame(
        {
            "profile": ["pretrained"] * 4 + ["pretrained-ones"],
            "setting": ["RGA-SC conv2-5_x", "Baseline", "Baseline", "RGA-SC w/o Rel. conv2-5_x",
                        "RGA-SC w/o Rel. conv2-5_x"],
            "hardware": ["AMD EPYC", "Intel(R) Xeon(R) Processor @ 2.80GHz",
                         "Intel(R) Xeon(R) Processor", "AMD EPYC", "Intel(R) Xeon(R) Processor"],
        }
    )  # fmt: skip
    assert summary.cpus_of_claims(claims, runs, "pretrained") == {"a": ["AMD EPYC", "Intel Xeon"]}
    table = summary.claims_summary(claims, "pretrained", None, runs).set_index("claim")
    assert table.loc["a", "caveat"] == "its runs trained on 2 CPUs (AMD EPYC, Intel Xeon)"
    assert table.loc["b", "caveat"].startswith("these seeds detect")  # one CPU: no CPU caveat
    assert table.loc["c", "caveat"] == "–"


def test_an_inconclusive_claim_whose_intervals_exclude_zero_says_holm_left_it_undecided():
    below = [_pair(-0.5, -0.9, -0.1, "undecided")]
    above = [_pair(0.6, 0.1, 1.1, "undecided"), _pair(0.9, 0.2, 1.6, "undecided", "X")]
    straddles = [_pair(0.6, 0.1, 1.1, "undecided"), _pair(0.2, -0.4, 0.8, "undecided", "X")]
    claims = pd.DataFrame(
        [
            _row("a", "pretrained", "mAP", "inconclusive", below),
            _row("b", "pretrained", "mAP", "inconclusive", above),
            _row("c", "pretrained", "mAP", "inconclusive", straddles),
            _row("d", "pretrained", "mAP", "reversed", [_pair(-0.5, -0.9, -0.1, "reversed")]),
        ]
    )
    table = summary.claims_summary(claims, "pretrained").set_index("claim")
    assert table.loc["a", "caveat"] == (
        "its 95 % interval lies below zero, but Holm's correction leaves it undecided"
    )
    assert table.loc["b", "caveat"].startswith("every pair's 95 % interval lies above zero")
    assert table.loc["c", "caveat"].startswith("these seeds detect")
    assert table.loc["d", "caveat"] == "–"  # decided: nothing to explain


def test_compute_table_counts_each_run_once_per_study_in_cpu_hours():
    runs = pd.DataFrame(
        {
            "run_id": ["r1", "r1", "r2", "r3"],
            "profile": ["pretrained", "pretrained", "pretrained", "cpu"],
            "seed": [0, 0, 1, 0],
            "epochs": [200, 200, 200, 70],
            "hardware": ["AMD EPYC", "AMD EPYC", "Xeon", "Xeon"],
            "wall_time_s": [3600.0, 3600.0, 1800.0, 360.0],
        }
    )
    table = summary.compute_table(runs).set_index("study")
    assert table.loc["pretrained", "runs"] == "2" and table.loc["pretrained", "CPU-hours"] == "1.5"
    assert table.loc["pretrained", "CPUs"] == "AMD EPYC; Xeon"
    assert table.loc["cpu", "CPU-hours"] == "0.1" and table.loc["cpu", "epochs"] == "70"


def test_outside_evidence_reads_the_cited_numbers():
    import rga.study.report as report

    table = summary.outside_evidence(report.load_paper_numbers())
    assert {"the paper: RGA-SC", "rerun of the official code", "no attention"} == set(table["what"])
    bot = table[table["numbers of"].str.startswith("fast-reid BoT(R50)")].iloc[0]
    assert (bot["R1"], bot["mAP"]) == ("94.4", "86.1") and "MODEL_ZOO" in bot["source"]
    assert not table[["R1", "mAP"]].isin(["", "nan", "–"]).any().any()
