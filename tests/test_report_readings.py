"""rga.study.report.readings: a table's runs in words, from hand-made claim rows and runs."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from rga.study.report.readings import claim_reading, fit_reading, seed_pattern, table_reading


@pytest.mark.parametrize(
    "by_seed, expected",
    [
        ([(0, 1.0), (1, 0.5)], "above it in every seed"),
        ([(0, -1.0), (1, -0.5), (2, -2.0)], "below it in every seed"),
        ([(0, 1.0), (1, -0.5), (2, 0.0)], "above it in 1 of 3 seeds"),  # a tie is neither
        ([(0, 1.0)], "above it in its one seed"),
        ([], "above it in 0 of 0 seeds"),
    ],
)
def test_seed_pattern_counts_the_seeds_each_way(by_seed, expected):
    assert seed_pattern(by_seed) == expected


def _pair(better, worse, by_seed):
    return {"better": better, "worse": worse, "by seed": by_seed,
            "mean": sum(d for _, d in by_seed) / len(by_seed)}  # fmt: skip


def test_a_claim_names_its_shared_better_side_once():
    row = pd.Series({"metric": "mAP", "verdict": "inconclusive", "pairs": [
        _pair("RGA-SC", "RGA-S", [(0, -1.0), (1, -2.0)]),
        _pair("RGA-SC", "Baseline", [(0, 1.0), (1, -1.0)]),
    ]})  # fmt: skip
    assert claim_reading(row) == (
        "in mAP, RGA-SC is below RGA-S in every seed (-1.5 points on average) and above the "
        "baseline in 1 of 2 seeds (+0.0 points on average): *inconclusive*"
    )
    row["pairs"] = [_pair("A", "C", [(0, 0.01)]), _pair("B", "C", [(0, -0.02)])]
    row["metric"] = "AUROC"
    assert claim_reading(row) == (
        "in AUROC, A is above C in its one seed (+0.010 on average); B is below C in its one "
        "seed (-0.020 on average): *inconclusive*"
    )


def _runs(tmp_path, ces: dict[str, list[float]], ids: int = 200) -> pd.DataFrame:
    stats = tmp_path / "run.json"
    stats.write_text(json.dumps({"dataset_statistics": {"train": {"ids": ids}}}))
    rows = [
        {"run_id": f"{s}-{i}", "setting": s, "path": str(stats), "curve": [{"ce": ce}]}
        for s, values in ces.items()
        for i, ce in enumerate(values)
    ]
    return pd.DataFrame(rows)


def test_fit_reading_gives_the_range_or_names_who_stays_at_chance(tmp_path):
    fit = fit_reading(_runs(tmp_path, {"A": [1.0, 1.2], "B": [1.21, 1.21]}))
    # means 1.10 and 1.21: the highest 10 % above the lowest; ln 200 = 5.30
    assert fit == (
        "Every setting fits its training identities: mean final cross-entropies from 1.10 to "
        "1.21 (the highest 10% above the lowest), far below a uniform guess (ln 200 = 5.30)."
    )
    stuck = fit_reading(_runs(tmp_path, {"A": [1.0], "B": [5.0, 5.2]}))
    assert stuck.startswith("B stays near a uniform guess over the 200 training identities")
    assert fit_reading(pd.DataFrame()) == ""


def test_table_reading_shows_r1_only_where_its_verdict_differs(tmp_path):
    def row(claim, metric, verdict, **extra):
        return {"claim": claim, "metric": metric, "verdict": verdict,
                "pairs": [_pair("A", "B", [(0, 1.0), (1, 2.0)])], **extra}  # fmt: skip

    claims = pd.DataFrame([
        row("same", "mAP", "holds"), row("same", "R1", "holds"),
        row("differs", "mAP", "holds"), row("differs", "R1", "inconclusive"),
        row("waits", "mAP", "pending", seeds=1, **{"seeds planned": 3}),
        row("absent", "mAP", "not run"),
    ])  # fmt: skip
    text = table_reading(claims, _runs(tmp_path, {"A": [1.0], "B": [1.1]}))
    lines = text.split("\n")
    assert lines[0].startswith("Every setting fits") and lines[1] == ""
    assert (
        lines[2]
        == "- **same**: in mAP, A is above B in every seed (+1.5 points on average): *holds*."
    )
    assert "in mAP" in lines[3] and "; in R1" in lines[3] and lines[3].endswith("*inconclusive*.")
    assert lines[4] == "- **waits**: *pending*, 1 of 3 planned seeds in."
    assert len(lines) == 5  # no line for a claim without runs
    assert table_reading(claims[claims["verdict"] == "not run"], pd.DataFrame()) == ""
